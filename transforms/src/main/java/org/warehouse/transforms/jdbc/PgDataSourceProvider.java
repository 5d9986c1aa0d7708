package org.warehouse.transforms.jdbc;

import javax.sql.DataSource;
import org.apache.beam.sdk.transforms.SerializableFunction;

/**
 * A named (not lambda) DataSource provider for JdbcIO: JdbcIO's display data needs a class name,
 * and this class shows no URL parameters or password in it.
 */
public final class PgDataSourceProvider implements SerializableFunction<Void, DataSource> {
  private static final long serialVersionUID = 1L;

  private final JdbcConfig config;
  private final String applicationName;

  public PgDataSourceProvider(JdbcConfig config, String applicationName) {
    this.config = config;
    this.applicationName = applicationName;
  }

  @Override
  public DataSource apply(Void input) {
    return config.dataSource(applicationName);
  }

  @Override
  public String toString() {
    return "PgDataSourceProvider{" + config.url() + "}";
  }
}
