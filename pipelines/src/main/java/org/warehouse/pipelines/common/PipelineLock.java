package org.warehouse.pipelines.common;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * A PostgreSQL session-level advisory lock per (pipeline, target database): two runs of the same
 * pipeline against the same target never interleave. The loser fails at once with {@link
 * LockHeldException} (exit 3) naming the holder. The lock dies with the holder's connection, so a
 * killed run never leaves it behind.
 *
 * <p>That connection can also die while the run goes on (server restart, {@code
 * pg_terminate_backend}, a proxy): then a second run may get in. So the lock is also a {@link
 * PublishGuard}: every publish transaction calls {@link #check} on its own connection just before
 * COMMIT, which proves that this run's lock session still holds the lock; if it does not, the
 * transaction rolls back and the run fails with "lost the run lock": nothing published.
 */
public final class PipelineLock implements AutoCloseable, PublishGuard {
  private static final String HELD_BY_PID = "SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' "
      + "AND l.granted AND l.pid = ? AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
      + "AND l.objid::text::bigint = (hashtext(?)::bigint & 4294967295))";

  private final Connection connection;
  private final String key;
  private final int backendPid;
  private final String database;

  private PipelineLock(Connection connection, String key, int backendPid, String database) {
    this.connection = connection;
    this.key = key;
    this.backendPid = backendPid;
    this.database = database;
  }

  public static PipelineLock acquire(JdbcConfig target, String pipeline) throws SQLException {
    Connection c = target.connect("warehouse-lock-" + pipeline);
    try {
      // an idle lock session must not be ended by the server's idle timeouts
      Db.execute(c, "SET idle_session_timeout = 0; SET idle_in_transaction_session_timeout = 0");
      String key = "warehouse-pipelines:" + pipeline;
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(hashtext(?)), pg_backend_pid()")) {
        ps.setString(1, key);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          if (rs.getBoolean(1)) {
            return new PipelineLock(c, key, rs.getInt(2), c.getCatalog());
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

  /**
   * Proves, on {@code c} (a connection to the same database, typically inside the publish transaction),
   * that this run's lock session still holds the lock; throws "lost the run lock" otherwise.
   */
  @Override
  public void check(Connection c) throws SQLException {
    check(c, backendPid, key, database);
  }

  /** {@link #check} as a serializable guard for pipeline workers: it carries the lock's pid and key, not its connection. */
  public PublishGuard forWorkers() {
    int pid = backendPid;
    String k = key;
    String db = database;
    return (PublishGuard & Serializable) c -> check(c, pid, k, db);
  }

  private static void check(Connection c, int backendPid, String key, String database) throws SQLException {
    boolean held;
    try (PreparedStatement ps = c.prepareStatement(HELD_BY_PID)) {
      ps.setInt(1, backendPid);
      ps.setString(2, key);
      try (ResultSet rs = ps.executeQuery()) {
        held = rs.next() && rs.getBoolean(1);
      }
    }
    if (!held) {
      throw new WarehouseException("lost the run lock (connection to " + database
          + " ended: server restart or terminated backend?): nothing published; re-run");
    }
  }

  /** The server process id of the lock's session (tests terminate it). */
  public int backendPid() {
    return backendPid;
  }

  /**
   * Unlocks explicitly, then closes: {@code Connection.close()} returns before the server backend has
   * exited, so a lock left to die with the connection could still block the next run for a moment.
   */
  @Override
  public void close() throws SQLException {
    try {
      if (!connection.isClosed()) {
        try (PreparedStatement ps = connection.prepareStatement("SELECT pg_advisory_unlock(hashtext(?))")) {
          ps.setString(1, key);
          ps.execute();
        }
      }
    } catch (SQLException e) {
      // the session is gone, and its lock with it
    } finally {
      connection.close();
    }
  }
}
