package org.warehouse.transforms.jdbc;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * PostgreSQL's lock timeout (SQLState 55P03), said once for every pipeline: what could not be locked,
 * within how long, why that usually happens, and that nothing changed.
 */
public final class LockTimeouts {
  private LockTimeouts() {}

  /** True when {@code e} or one of its causes is a lock timeout (or a NOWAIT lock not granted). */
  public static boolean isLockTimeout(Throwable e) {
    return "55P03".equals(Db.sqlState(e));
  }

  /** One line: "could not lock {what} within {seconds} s ({why}); nothing changed: …". */
  public static WarehouseException explain(Throwable e, String what, int seconds, String why) {
    return new WarehouseException("could not lock " + what + " within " + seconds + " s (" + why
        + "); nothing changed: retry later or raise --lockTimeoutSeconds", e);
  }

  /** Runs {@code sql}; a lock timeout becomes {@link #explain}. */
  public static void execute(Connection c, String sql, String what, int seconds, String why) throws SQLException {
    try {
      Db.execute(c, sql);
    } catch (SQLException e) {
      if (isLockTimeout(e)) {
        throw explain(e, what, seconds, why);
      }
      throw e;
    }
  }

  /** {@code SET lock_timeout} for the whole session. */
  public static void set(Connection c, int seconds) throws SQLException {
    Db.execute(c, "SET lock_timeout = '" + seconds + "s'");
  }

  /** {@code SET LOCAL lock_timeout}: for the current transaction only. */
  public static void setLocal(Connection c, int seconds) throws SQLException {
    Db.execute(c, "SET LOCAL lock_timeout = '" + seconds + "s'");
  }
}
