package org.warehouse.pipelines.common;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.warehouse.transforms.jdbc.JdbcConfig;

/**
 * A PostgreSQL session-level advisory lock per (pipeline, target database): two runs of the same
 * pipeline against the same target never interleave. The loser fails at once with {@link
 * LockHeldException} (exit 3) naming the holder. The lock dies with the holder's connection, so a
 * killed run never leaves it behind.
 */
public final class PipelineLock implements AutoCloseable {
  private final Connection connection;

  private PipelineLock(Connection connection) {
    this.connection = connection;
  }

  public static PipelineLock acquire(JdbcConfig target, String pipeline) throws SQLException {
    Connection c = target.connect("warehouse-lock-" + pipeline);
    try {
      String key = "warehouse-pipelines:" + pipeline;
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(hashtext(?))")) {
        ps.setString(1, key);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (rs.getBoolean(1)) {
            return new PipelineLock(c);
          }
        }
      }
      String holder = holder(c, key);
      String database = c.getCatalog();
      c.close();
      throw new LockHeldException(
          "another '" + pipeline + "' run holds the lock on " + database + " (" + holder
              + "): wait for it to finish, or stop it, then re-run");
    } catch (SQLException | RuntimeException e) {
      if (!c.isClosed()) {
        c.close();
      }
      throw e;
    }
  }

  private static String holder(Connection c, String key) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT a.pid, a.application_name, a.client_addr, a.backend_start FROM pg_locks l "
                + "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
                + "AND l.objid::text::bigint = (hashtext(?)::bigint & 4294967295) LIMIT 1")) {
      ps.setString(1, key);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          return "server pid " + rs.getInt(1) + ", " + rs.getString(2) + ", connected since " + rs.getTimestamp(4);
        }
      }
    }
    return "holder unknown";
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }
}
