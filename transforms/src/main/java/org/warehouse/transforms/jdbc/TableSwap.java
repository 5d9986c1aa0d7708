package org.warehouse.transforms.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Publishes fully loaded staging tables as their targets, all in ONE short transaction, so a reader
 * sees either every old table or every new one — never an empty or half-written table.
 *
 * <p>Two ways, chosen per table:
 *
 * <ul>
 *   <li><b>rename</b> (the target does not exist, or nothing depends on it): drop the old table and
 *       rename the staging table into its place, with its indexes and constraints renamed to the
 *       target's names. Takes milliseconds.
 *   <li><b>in place</b> (views, foreign keys or grants depend on the target): {@code TRUNCATE} +
 *       {@code INSERT ... SELECT} from the staging table, so the table keeps its OID and everything
 *       that hangs on it. Readers wait on the lock for the copy's duration instead of seeing it.
 * </ul>
 *
 * A lock that cannot be had within the lock timeout aborts the whole transaction: nothing changes.
 */
public final class TableSwap {
  private static final Logger LOG = LoggerFactory.getLogger(TableSwap.class);

  /** One staging table to publish as a target. */
  public static final class Swap {
    final TableRef staging;
    final TableRef target;
    final Map<String, String> indexNames;

    public Swap(TableRef staging, TableRef target) {
      this(staging, target, Map.of());
    }

    /**
     * A swap whose staging indexes (and so their PK/UNIQUE constraints) get explicit final names
     * on a rename: staging index name → target index name. Indexes not in the map keep the default
     * rule (a staging-name prefix becomes the target-name prefix).
     */
    public Swap(TableRef staging, TableRef target, Map<String, String> indexNames) {
      this.staging = staging;
      this.target = target;
      this.indexNames = Map.copyOf(indexNames);
    }

    public TableRef stagingRef() {
      return staging;
    }

    public TableRef targetRef() {
      return target;
    }
  }

  private TableSwap() {}

  /** Publishes every swap in one transaction; returns how each table was published. */
  public static List<String> publish(Connection c, List<Swap> swaps, int lockTimeoutSeconds)
      throws SQLException {
    return publish(c, swaps, lockTimeoutSeconds, PublishGuard.NONE);
  }

  /**
   * Publishes every swap in one transaction, {@code guard} checked last, just before COMMIT (the run
   * lock still held?); returns how each table was published.
   */
  public static List<String> publish(Connection c, List<Swap> swaps, int lockTimeoutSeconds, PublishGuard guard)
      throws SQLException {
    try {
      return Db.inTransaction(c, () -> {
        LockTimeouts.setLocal(c, lockTimeoutSeconds);
        List<String> how = new ArrayList<>();
        for (Swap s : swaps) {
          how.add(s.target + ": " + publishOne(c, s));
        }
        guard.check(c);
        return how;
      });
    } catch (SQLException | RuntimeException e) {
      if (LockTimeouts.isLockTimeout(e)) {
        throw LockTimeouts.explain(e, "the target tables", lockTimeoutSeconds,
            "a long query or transaction holds one");
      }
      throw e;
    }
  }

  private static String publishOne(Connection c, Swap s) throws SQLException {
    if (!Db.tableExists(c, s.target)) {
      Db.execute(c, "ALTER TABLE " + s.staging.quoted() + " RENAME TO " + Sql.quoteIdent(s.target.name()));
      renameIndexes(c, s.target, s.staging.name(), s.target.name(), s.indexNames);
      return "created";
    }
    // Take the target's lock first: from here on no reader can start on the old table.
    Db.execute(c, "LOCK TABLE " + s.target.quoted() + " IN ACCESS EXCLUSIVE MODE");
    if (!hasDependents(c, s.target)) {
      Db.execute(c, "DROP TABLE " + s.target.quoted());
      Db.execute(c, "ALTER TABLE " + s.staging.quoted() + " RENAME TO " + Sql.quoteIdent(s.target.name()));
      renameIndexes(c, s.target, s.staging.name(), s.target.name(), s.indexNames);
      return "swapped (rename)";
    }
    Map<String, String> targetCols = Db.columns(c, s.target);
    Map<String, String> stagingCols = Db.columns(c, s.staging);
    if (!targetCols.equals(stagingCols)) {
      throw new WarehouseException(
          "table "
              + s.target
              + " has dependent views, foreign keys or grants and its columns differ from the new version "
              + "(have "
              + targetCols.keySet()
              + ", new "
              + stagingCols.keySet()
              + "): drop or adapt the dependent objects, then re-run");
    }
    String cols = Sql.quoteColumns(new ArrayList<>(targetCols.keySet()));
    Db.execute(c, "TRUNCATE " + s.target.quoted());
    Db.execute(c, "INSERT INTO " + s.target.quoted() + " (" + cols + ") SELECT " + cols + " FROM " + s.staging.quoted());
    Db.execute(c, "DROP TABLE " + s.staging.quoted());
    return "replaced in place (dependent objects kept)";
  }

  /** True when views, rules, foreign keys or explicit grants hang on the table. */
  public static boolean hasDependents(Connection c, TableRef t) throws SQLException {
    String sql =
        "SELECT (SELECT relacl IS NOT NULL FROM pg_class WHERE oid = ?::regclass) "
            + " OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
            + "            WHERE d.refobjid = ?::regclass AND d.classid = 'pg_rewrite'::regclass "
            + "              AND r.ev_class <> ?::regclass) "
            + " OR EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = ?::regclass)";
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 1; i <= 4; i++) {
        ps.setString(i, t.quoted());
      }
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /** Renames indexes (and so PK/UNIQUE constraints) named after the staging table to the target's name. */
  private static void renameIndexes(Connection c, TableRef table, String fromPrefix, String toPrefix,
      Map<String, String> explicit) throws SQLException {
    List<String> names = new ArrayList<>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
                + "WHERE x.indrelid = ?::regclass")) {
      ps.setString(1, table.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
    }
    for (String n : names) {
      if (explicit.containsKey(n)) {
        Db.execute(c, "ALTER INDEX " + Sql.quoteIdent(table.schema()) + "." + Sql.quoteIdent(n)
            + " RENAME TO " + Sql.quoteIdent(explicit.get(n)));
      } else if (n.startsWith(fromPrefix)) {
        String renamed = toPrefix + n.substring(fromPrefix.length());
        LOG.debug("renaming index {} to {}", n, renamed);
        Db.execute(c, "ALTER INDEX " + Sql.quoteIdent(table.schema()) + "." + Sql.quoteIdent(n)
            + " RENAME TO " + Sql.quoteIdent(renamed));
      }
    }
  }
}
