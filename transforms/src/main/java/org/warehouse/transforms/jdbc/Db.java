package org.warehouse.transforms.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Small catalog and statement helpers shared by the pipelines' driver-side steps. */
public final class Db {
  private Db() {}

  /**
   * Closes a session a worker is done with, ignoring a failure to close it: after a server restart or
   * a terminated backend the socket is already gone, and the run's own error (if any) has been reported
   * where it happened. Used by every {@code @Teardown}, where a thrown exception would only add a stack
   * trace to the run's output, and by the driver's worker pool when it ends.
   */
  public static void closeQuietly(AutoCloseable session) {
    if (session == null) {
      return;
    }
    try {
      session.close();
    } catch (Exception ignored) {
      // the session is being discarded; a dead socket cannot be closed cleanly
    }
  }

  /** What {@link #inTransaction} runs (on the connection given there). */
  @FunctionalInterface
  public interface TransactionWork<T> {
    T run() throws SQLException;
  }

  /**
   * Runs {@code work} as one transaction on {@code c}: COMMIT when it returns, ROLLBACK when it throws
   * (a failing rollback is added to the work's exception as suppressed); afterwards the connection's
   * auto-commit is what it was.
   */
  public static <T> T inTransaction(Connection c, TransactionWork<T> work) throws SQLException {
    boolean auto = c.getAutoCommit();
    c.setAutoCommit(false);
    T result;
    try {
      result = work.run();
      c.commit();
    } catch (SQLException | RuntimeException | Error e) {
      try {
        c.rollback();
        c.setAutoCommit(auto);
      } catch (SQLException r) {
        e.addSuppressed(r);
      }
      throw e;
    }
    c.setAutoCommit(auto);
    return result;
  }

  /**
   * Runs {@code work}, which reads {@code table}, in a read-only REPEATABLE READ transaction that sees
   * the snapshot another session exported ({@code SELECT pg_export_snapshot()}, its transaction still
   * open and holding the table's ACCESS SHARE lock): every connection that does this reads the same
   * database state. The table is locked {@code NOWAIT} first, as pg_dump's workers do: when another
   * session is already waiting for an exclusive lock on it (a swap, an ALTER), a plain read would queue
   * behind that session, which itself waits for the exporting transaction, and nothing would move until
   * a lock timeout. This read gives way instead, with a {@link WarehouseException} that says so.
   */
  public static <T> T inSnapshot(Connection c, String snapshot, String quotedTable, TransactionWork<T> work)
      throws SQLException {
    return inTransaction(c, () -> {
      execute(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      execute(c, "SET TRANSACTION SNAPSHOT " + Sql.literal(snapshot));
      try {
        execute(c, "LOCK TABLE " + quotedTable + " IN ACCESS SHARE MODE NOWAIT");
      } catch (SQLException e) {
        if (LockTimeouts.isLockTimeout(e)) {
          throw new WarehouseException("another session is waiting for an exclusive lock on " + quotedTable
              + " (a table swap or an ALTER?): this run gives way and stops; nothing was changed, re-run once it is done", e);
        }
        throw e;
      }
      return work.run();
    });
  }

  /**
   * Opens on {@code c} the read-only REPEATABLE READ transaction that a run's readers share: the tables
   * locked in ACCESS SHARE mode first (nobody can drop, rename or rewrite them while it is open; a lock
   * not granted within {@code lockTimeoutSeconds} is a lock timeout, SQLState 55P03), then its snapshot
   * exported. Returns the snapshot's identifier for {@link #inSnapshot}; the transaction stays open
   * until the caller ends it or closes the connection.
   */
  public static String exportSnapshot(Connection c, List<String> quotedTables, int lockTimeoutSeconds)
      throws SQLException {
    c.setAutoCommit(false);
    execute(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    LockTimeouts.setLocal(c, lockTimeoutSeconds);
    if (!quotedTables.isEmpty()) {
      execute(c, "LOCK TABLE " + String.join(", ", quotedTables) + " IN ACCESS SHARE MODE");
    }
    return queryString(c, "SELECT pg_export_snapshot()");
  }

  /** Whether {@code c}'s server session still answers (within 5 s); false once it has ended. */
  public static boolean isAlive(Connection c) {
    try {
      return c.isValid(5);
    } catch (SQLException e) {
      return false;
    }
  }

  /** The first SQLState in {@code e}'s cause chain, or null. */
  public static String sqlState(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException && ((SQLException) t).getSQLState() != null) {
        return ((SQLException) t).getSQLState();
      }
    }
    return null;
  }

  public static void execute(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute(sql);
    }
  }

  public static String queryString(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      if (!rs.next()) {
        throw new SQLException("no row returned by: " + sql);
      }
      return rs.getString(1);
    }
  }

  public static long queryLong(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql)) {
      if (!rs.next()) {
        throw new SQLException("no row returned by: " + sql);
      }
      return rs.getLong(1);
    }
  }

  public static boolean tableExists(Connection c, TableRef t) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT 1 FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
                + "WHERE n.nspname = ? AND k.relname = ? AND k.relkind IN ('r', 'p', 'v', 'm', 'f')")) {
      ps.setString(1, t.schema());
      ps.setString(2, t.name());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** Column name → type (format_type) in column order; empty when the table does not exist. */
  public static Map<String, String> columns(Connection c, TableRef t) throws SQLException {
    Map<String, String> cols = new LinkedHashMap<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                + "JOIN pg_class k ON k.oid = a.attrelid JOIN pg_namespace n ON n.oid = k.relnamespace "
                + "WHERE n.nspname = ? AND k.relname = ? AND a.attnum > 0 AND NOT a.attisdropped "
                + "ORDER BY a.attnum")) {
      ps.setString(1, t.schema());
      ps.setString(2, t.name());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          cols.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    return cols;
  }

  /**
   * Checks that a table exists and has the given columns; the exception names the table, what is
   * missing and what to do.
   */
  public static void requireColumns(Connection c, TableRef t, List<String> required, String hint)
      throws SQLException {
    Map<String, String> cols = columns(c, t);
    if (cols.isEmpty()) {
      throw new WarehouseException("table " + t + " does not exist in " + safeDb(c) + ": " + hint);
    }
    List<String> missing = new ArrayList<>();
    for (String r : required) {
      if (!cols.containsKey(r)) {
        missing.add(r);
      }
    }
    if (!missing.isEmpty()) {
      throw new WarehouseException(
          "table " + t + " lacks column(s) " + String.join(", ", missing) + ": " + hint);
    }
  }

  /** Drops a table if it exists. */
  public static void dropIfExists(Connection c, TableRef t) throws SQLException {
    execute(c, "DROP TABLE IF EXISTS " + t.quoted());
  }

  public static long countRows(Connection c, TableRef t) throws SQLException {
    return queryLong(c, "SELECT count(*) FROM " + t.quoted());
  }

  private static String safeDb(Connection c) {
    try {
      return "database " + c.getCatalog();
    } catch (SQLException e) {
      return "the database";
    }
  }
}
