package org.warehouse.pipelines.promote.targetdb;

import java.sql.Connection;
import java.sql.SQLException;
import org.warehouse.transforms.jdbc.CopyWriter;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.TableRef;

/** Loads COPY text into PostgreSQL with {@code COPY … FROM STDIN}, one auto-committed COPY per call. */
final class PostgresLoader implements BulkLoader {
  private static final long serialVersionUID = 1L;

  private final JdbcConfig config;

  PostgresLoader(JdbcConfig config) {
    this.config = config;
  }

  @Override
  public Session open(String applicationName) throws SQLException {
    Connection c = config.connect(applicationName);
    c.setAutoCommit(true);
    return new Session() {
      @Override
      public void load(TableRef table, String copyText) throws SQLException {
        try (CopyWriter copy = CopyWriter.open(c, "COPY " + table.quoted() + " FROM STDIN")) {
          copy.buffer().append(copyText);
          copy.finish();
        }
      }

      @Override
      public void close() throws SQLException {
        c.close();
      }
    };
  }
}
