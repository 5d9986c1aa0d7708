package org.warehouse.pipelines.common;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;
import org.warehouse.transforms.jdbc.JdbcConfig;

/** Options every warehouse pipeline shares: where the database is and where the report goes. */
public interface WarehouseOptions extends ReportOptions {
  @Description("JDBC URL of the warehouse database, without a password, e.g. jdbc:postgresql://localhost:5432/warehouse")
  @Validation.Required
  String getJdbcUrl();

  void setJdbcUrl(String value);

  @Description("Database user (default: $PGUSER, else postgres)")
  String getDbUser();

  void setDbUser(String value);

  @Description("File whose first line is the database password (default: $PGPASSWORD)")
  String getPasswordFile();

  void setPasswordFile(String value);

  @Description("Schema of the warehouse tables")
  @Default.String("public")
  String getSchema();

  void setSchema(String value);

  /** The connection config these options describe (the password from the file or environment). */
  static JdbcConfig jdbcConfig(WarehouseOptions o) {
    return JdbcConfig.fromOptions(o.getJdbcUrl(), o.getDbUser(), o.getPasswordFile());
  }
}
