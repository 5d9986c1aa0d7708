package org.warehouse.pipelines.dedupe;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/** The driver-side SQL of dedupe: snapshot, checksums, the final transaction, rollback, dry run. */
public final class DedupeSql {
  private static final ObjectMapper JSON = new ObjectMapper();

  private DedupeSql() {}

  /**
   * Order-independent checksum of whole rows: the exact (numeric) sum of PostgreSQL's 64-bit hash of
   * each row, {@code hash_record_extended(row, 0)} (PostgreSQL 14+; every column type needs an
   * extended hash function, as all the usual ones have). ~5x cheaper than md5 of the row text.
   */
  public static String checksumExpr(String alias) {
    return "coalesce(sum(hash_record_extended(" + alias + ", 0)), 0)";
  }

  /** Checks the table and columns exist and that {@code id} is an integer column. */
  public static void preflight(Connection c, DedupeTarget t) throws SQLException {
    List<String> cols = new java.util.ArrayList<>(t.naturalKey());
    cols.add("id");
    cols.add(t.latest());
    Db.requireColumns(c, t.table(), cols, "check the table and natural key in the dedupe config or --table/--naturalKey");
    String idType = Db.columns(c, t.table()).get("id");
    if (!idType.equals("bigint") && !idType.equals("integer") && !idType.equals("smallint")) {
      throw new WarehouseException("table " + t.table() + ": column id is " + idType
          + ", dedupe needs an integer surrogate id (ties and the snapshot use it)");
    }
  }

  /**
   * Refuses a table that another table references with ON DELETE CASCADE / SET NULL / SET DEFAULT:
   * removing a referenced duplicate would silently delete or change rows of the referencing table.
   * (NO ACTION / RESTRICT references are fine: the DELETE path then fails and changes nothing if a
   * duplicate is referenced.)
   */
  public static void refuseChangingReferences(Connection c, DedupeTarget t) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT string_agg(conname || ' on ' || conrelid::regclass::text, ', ') "
        + "FROM pg_constraint WHERE confrelid = ?::regclass AND contype = 'f' AND confdeltype IN ('c', 'n', 'd')")) {
      ps.setString(1, t.table().quoted());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        String fks = rs.getString(1);
        if (fks != null) {
          throw new WarehouseException("table " + t.table() + " is referenced by foreign key " + fks + " with ON DELETE "
              + "CASCADE/SET NULL/SET DEFAULT: removing duplicates would change the referencing rows; point them at "
              + "the survivors and make the key NO ACTION, or drop it, then re-run (nothing changed)");
        }
      }
    }
  }

  public static boolean constraintExists(Connection c, TableRef table, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT 1 FROM pg_constraint WHERE conrelid = ?::regclass AND conname = ? AND contype IN ('u', 'p')")) {
      ps.setString(1, table.quoted());
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * The id range the pipeline reads. Taken under a brief SHARE lock, which waits for in-flight
   * inserts to commit: every row with id ≤ max is then visible to the pipeline's reads, and every
   * later insert gets a higher id from the sequence.
   */
  public static long[] snapshot(Connection c, TableRef table, int lockTimeoutSeconds) throws SQLException {
    return Db.inTransaction(c, () -> {
      Db.execute(c, "SET LOCAL lock_timeout = '" + lockTimeoutSeconds + "s'");
      Db.execute(c, "LOCK TABLE " + table.quoted() + " IN SHARE MODE");
      long[] r = new long[2];
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM " + table.quoted())) {
        rs.next();
        r[0] = rs.getLong(1);
        r[1] = rs.getLong(2);
      }
      return r;
    });
  }

  /** Count and checksum of the rows with id in (fromExclusive, toInclusive]. */
  public static Object[] countAndChecksum(Connection c, TableRef table, long fromExclusive, long toInclusive)
      throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*), " + checksumExpr("t") + " FROM " + table.quoted()
            + " AS t WHERE id > " + fromExclusive + " AND id <= " + toInclusive)) {
      rs.next();
      return new Object[] {rs.getLong(1), rs.getBigDecimal(2)};
    }
  }

  /**
   * Writes the backup of every snapshot row (id ≤ {@code snapshotMaxId}) into a new work table
   * {@code <table>__dedupe_copy}, server-side, in one transaction that takes no lock stronger than a
   * reader's; then returns {count, order-independent checksum} of the copy. Snapshot rows never change
   * while dedupe runs (the ETL only inserts), so this can run while the pipeline reads the same rows.
   * The final step renames the copy to the backup table in its transaction; a failed run drops it.
   */
  public static Object[] copySnapshot(Connection c, DedupeTarget t, long snapshotMaxId) throws SQLException {
    TableRef copy = t.backupWorkTable();
    Db.inTransaction(c, () -> {
      Db.execute(c, "DROP TABLE IF EXISTS " + copy.quoted());
      // No autovacuum on the copy during the run (it would scan it for nothing, and hold up the final step's
      // rename); the final step resets the setting.
      // CREATE TABLE AS, not CREATE TABLE + INSERT ... SELECT: PostgreSQL writes it through a small ring of
      // buffers instead of filling shared_buffers with dirty pages that the pipeline's range reads would
      // then have to write out to get a buffer (docs/dedupe.md).
      return update(c, "CREATE TABLE " + copy.quoted() + " WITH (autovacuum_enabled = false) AS SELECT * FROM "
          + t.table().quoted() + " WHERE id <= " + snapshotMaxId);
    });
    return countAndChecksum(c, copy, Long.MIN_VALUE, Long.MAX_VALUE);
  }

  /**
   * Why the table's contents cannot be replaced by TRUNCATE + re-insert of the survivors, or null
   * when they can: another table's foreign key references it (TRUNCATE would need CASCADE), it has
   * user triggers (the re-insert would fire INSERT triggers, TRUNCATE no DELETE triggers), or it has
   * inheritance children / is partitioned (TRUNCATE would reach them). Such tables take the DELETE
   * path.
   */
  public static String truncateBlocker(Connection c, TableRef table) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT "
        + "(SELECT string_agg(conname || ' on ' || conrelid::regclass::text, ', ') FROM pg_constraint "
        + "  WHERE confrelid = r.oid AND contype = 'f'), "
        + "(SELECT string_agg(tgname, ', ') FROM pg_trigger WHERE tgrelid = r.oid AND NOT tgisinternal), "
        + "r.relhassubclass OR r.relkind <> 'r' "
        + "FROM pg_class r WHERE r.oid = ?::regclass")) {
      ps.setString(1, table.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (rs.getString(1) != null) {
          return "referenced by foreign key " + rs.getString(1);
        }
        if (rs.getString(2) != null) {
          return "has trigger(s) " + rs.getString(2);
        }
        if (rs.getBoolean(3)) {
          return "has inheritance children or is partitioned";
        }
        return null;
      }
    }
  }

  /** What the final transaction did. */
  public static final class Outcome {
    public long removedSnapshot;
    public long insertedDuringRun;
    public long removedInserted;
    public long rowsAfter;
    public long nullKeyRows;
    public boolean constraintAdded;
    /** True: TRUNCATE + re-insert of the survivors; false: DELETE of the duplicates. */
    public boolean truncated;
    /** Why the DELETE path was taken (null on the TRUNCATE path). */
    public String blocker;
    /** How long the final step held its strong lock (ACCESS EXCLUSIVE, or SHARE ROW EXCLUSIVE on the DELETE path). */
    public long lockHeldNanos;
    public String lockMode;
  }

  /**
   * The final step, in ONE transaction; the backup (every snapshot row) is already in {@code
   * <table>__dedupe_copy}. Any failure rolls the whole transaction back: the table is as it was.
   *
   * <p>TRUNCATE path ({@code truncateBlocker} null): {@code LOCK … ACCESS EXCLUSIVE} (readers and
   * writers wait for this short tail only); copy the survivors still there and the rows inserted after
   * the snapshot into a temp table (with an index on id: the survivors before the lock, then index
   * probes and an id range under it; without: one scan of the table under the lock); reconcile the
   * latter with the same rule (losers inserted after the snapshot go to the backup); TRUNCATE
   * (transactional, same OID); re-insert; add the UNIQUE constraint on the small table; validate;
   * rename the copy to the backup; ANALYZE; commit.
   *
   * <p>DELETE path (FK-referenced tables etc., and tables where most rows survive): without blocking
   * the ETL (row locks only) delete every snapshot row that is not its key's survivor; then under
   * SHARE ROW EXCLUSIVE (reads go on, writes wait) reconcile the rows inserted since the snapshot, add
   * the constraint, validate, ANALYZE.
   */
  public static Outcome finish(Connection c, DedupeTarget t, long snapshotMaxId, long snapshotRows,
      BigDecimal snapshotChecksum, int lockTimeoutSeconds) throws SQLException {
    TableRef table = t.table();
    String q = table.quoted();
    TableRef backup = t.backupTable();
    TableRef copy = t.backupWorkTable();
    TableRef keep = t.keepTable();
    String keys = t.quotedKey();
    String order = Sql.quoteIdent(t.latest()) + " DESC, id DESC";
    long kept = Db.countRows(c, keep);
    Outcome o = new Outcome();
    String blocker = truncateBlocker(c, table);
    if (blocker == null && kept * 2 > snapshotRows) {
      // TRUNCATE + re-insert holds ACCESS EXCLUSIVE while it re-inserts every survivor: right when a few
      // survive (the ETL's profile: 99.8 % duplicates), wrong when most do. Deleting the few duplicates
      // takes row locks only, and the tail holds SHARE ROW EXCLUSIVE (readers go on).
      blocker = "most rows survive, " + kept + " of " + snapshotRows + ": deleting the duplicates blocks no reader";
    }
    o.truncated = blocker == null;
    o.blocker = blocker;
    c.setAutoCommit(false);
    long lockedAt = 0;
    try {
      Db.execute(c, "SET LOCAL lock_timeout = '" + lockTimeoutSeconds + "s'");
      // Before any strong lock on the table: the copy becomes the backup (renamed back on rollback)...
      Db.execute(c, "ALTER TABLE " + copy.quoted() + " RENAME TO " + Sql.quoteIdent(backup.name()));
      Db.execute(c, "ALTER TABLE " + backup.quoted() + " RESET (autovacuum_enabled)");
      TableRef staying = TableRef.of("pg_temp", "dedupe_rows");
      boolean idIndexed = o.truncated && idIndexed(c, table);
      if (o.truncated) {
        Db.execute(c, "DROP TABLE IF EXISTS " + staying.quoted());
        if (idIndexed) {
          // ... and the survivors (snapshot rows: they do not change) go to a temp table, by index probes.
          Db.execute(c, "CREATE TEMP TABLE dedupe_rows ON COMMIT DROP AS SELECT t.* FROM " + keep.quoted() + " k JOIN "
              + q + " t ON t.id = k.id");
        }
        o.lockMode = "ACCESS EXCLUSIVE";
        Db.execute(c, "LOCK TABLE " + q + " IN ACCESS EXCLUSIVE MODE");
        lockedAt = System.nanoTime();
        String now = truncateBlocker(c, table); // a trigger or foreign key added since the check above?
        if (now != null) {
          throw new WarehouseException("table " + table + ": " + now + " since the run started; nothing changed, re-run");
        }
      } else {
        o.lockMode = "SHARE ROW EXCLUSIVE";
        o.removedSnapshot = update(c, "DELETE FROM " + q + " AS t WHERE t.id <= " + snapshotMaxId
            + " AND NOT EXISTS (SELECT 1 FROM " + keep.quoted() + " k WHERE k.id = t.id)");
        long vanished = Db.queryLong(c, "SELECT count(*) FROM " + keep.quoted() + " k WHERE NOT EXISTS (SELECT 1 FROM "
            + q + " t WHERE t.id = k.id)");
        if (vanished > 0) {
          throw vanished(table, vanished);
        }
        Db.execute(c, "LOCK TABLE " + q + " IN SHARE ROW EXCLUSIVE MODE");
        lockedAt = System.nanoTime();
      }
      // The rows that stay: survivors of the snapshot + rows inserted since (reconciled below).
      String rows;
      long finalMaxId;
      Object[] inserted;
      if (o.truncated && idIndexed) {
        rows = staying.quoted();
        // Index probes under the lock: every survivor still there? then the rows inserted since the snapshot.
        long present = Db.queryLong(c, "SELECT count(*) FROM " + rows + " r WHERE EXISTS (SELECT 1 FROM " + q
            + " t WHERE t.id = r.id)");
        if (present != kept) {
          throw vanished(table, kept - present);
        }
        finalMaxId = Math.max(snapshotMaxId, Db.queryLong(c, "SELECT coalesce(max(id), 0) FROM " + q));
        inserted = countAndChecksum(c, table, snapshotMaxId, finalMaxId);
        update(c, "INSERT INTO " + rows + " SELECT * FROM " + q + " WHERE id > " + snapshotMaxId);
      } else if (o.truncated) {
        // No index on id: ONE scan of the table under the lock (each statement above would be a scan, and
        // PostgreSQL hashes the big side for the survivor check): the survivors still there and every row
        // inserted since the snapshot into the temp table, by a hash join on the survivor ids.
        rows = staying.quoted();
        Db.execute(c, "CREATE TEMP TABLE dedupe_rows ON COMMIT DROP AS SELECT t.* FROM " + q + " t LEFT JOIN "
            + keep.quoted() + " k ON k.id = t.id WHERE k.id IS NOT NULL OR t.id > " + snapshotMaxId);
        // Every survivor still there, once?
        long present = Db.queryLong(c, "SELECT count(*) FROM " + rows + " WHERE id <= " + snapshotMaxId);
        if (present < kept) {
          throw vanished(table, kept - present);
        } else if (present > kept) {
          throw new WarehouseException("table " + table + ": " + (present - kept) + " surviving id(s) appear more than "
              + "once (id is not unique); nothing was changed");
        }
        finalMaxId = Math.max(snapshotMaxId, Db.queryLong(c, "SELECT coalesce(max(id), 0) FROM " + rows));
        inserted = countAndChecksum(c, staying, snapshotMaxId, finalMaxId);
      } else {
        rows = q;
        finalMaxId = Math.max(snapshotMaxId, Db.queryLong(c, "SELECT coalesce(max(id), 0) FROM " + q));
        inserted = countAndChecksum(c, table, snapshotMaxId, finalMaxId);
      }
      if (o.truncated) {
        o.removedSnapshot = snapshotRows - kept; // the DELETE path counted its deletes above
      }
      o.insertedDuringRun = (Long) inserted[0];
      if (o.insertedDuringRun > 0) {
        String cols = "t.id, " + prefixed("t.", t.naturalKey()) + ", t." + Sql.quoteIdent(t.latest());
        // Candidates of the keys written since the snapshot: those rows + the survivors of their keys.
        Db.execute(c, "DROP TABLE IF EXISTS pg_temp.dedupe_losers");
        Db.execute(c, "CREATE TEMP TABLE dedupe_losers ON COMMIT DROP AS WITH nk AS (SELECT DISTINCT " + keys
            + " FROM " + q + " WHERE id > " + snapshotMaxId + " AND " + t.keyNotNull("") + "), cand AS (SELECT " + cols
            + " FROM " + q + " t WHERE t.id > " + snapshotMaxId + " AND " + t.keyNotNull("t.") + " UNION ALL SELECT "
            + cols + " FROM " + keep.quoted() + " k JOIN " + q + " t ON t.id = k.id JOIN nk USING (" + keys + ")) "
            + "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY " + keys + " ORDER BY " + order
            + ") AS rn FROM cand) r WHERE rn > 1");
        // Losers inserted after the snapshot go to the backup (snapshot rows are all there already).
        o.removedInserted = update(c, "INSERT INTO " + backup.quoted() + " SELECT t.* FROM " + q
            + " t JOIN pg_temp.dedupe_losers l ON l.id = t.id WHERE t.id > " + snapshotMaxId);
        long removedSurvivors = update(c, "DELETE FROM " + rows + " AS t USING pg_temp.dedupe_losers l WHERE t.id = l.id")
            - o.removedInserted;
        o.removedSnapshot += removedSurvivors;
      }
      if (o.truncated) {
        Db.execute(c, "TRUNCATE " + q);
        update(c, "INSERT INTO " + q + " OVERRIDING SYSTEM VALUE SELECT * FROM " + rows);
      }
      if (!constraintExists(c, table, t.constraintName())) {
        String idx = Sql.quoteIdent(t.constraintName());
        Db.execute(c, "CREATE UNIQUE INDEX " + idx + " ON " + q + " (" + keys + ")");
        Db.execute(c, "ALTER TABLE " + q + " ADD CONSTRAINT " + idx + " UNIQUE USING INDEX " + idx);
        o.constraintAdded = true;
      }
      // Validate inside the transaction (one scan): any surprise rolls everything back.
      long groups;
      long dupKeys;
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE nk), 0), count(*), "
              + "count(*) FILTER (WHERE n > 1 AND NOT nk) FROM (SELECT count(*) AS n, bool_or(" + t.keyAnyNull()
              + ") AS nk FROM " + q + " GROUP BY " + keys + ", CASE WHEN " + t.keyAnyNull() + " THEN id END) x")) {
        rs.next();
        o.rowsAfter = rs.getLong(1);
        o.nullKeyRows = rs.getLong(2);
        groups = rs.getLong(3);
        dupKeys = rs.getLong(4);
      }
      long distinctKeys = groups - o.nullKeyRows;
      long removed = o.removedSnapshot + o.removedInserted;
      long before = snapshotRows + o.insertedDuringRun;
      // (The backup copy's row count was checked against the pipeline's before this transaction.)
      if (dupKeys != 0 || o.rowsAfter != distinctKeys + o.nullKeyRows || o.rowsAfter + removed != before
          || !constraintExists(c, table, t.constraintName())) {
        throw new WarehouseException("table " + table + ": validation failed (duplicate keys " + dupKeys + ", rows "
            + o.rowsAfter + " vs distinct keys " + distinctKeys + " + NULL-key rows " + o.nullKeyRows + ", rows + removed "
            + (o.rowsAfter + removed) + " vs rows before " + before + "); rolled back, table unchanged");
      }
      Map<String, Object> meta = new LinkedHashMap<>();
      meta.put("dedupeOf", table.toString());
      meta.put("constraint", t.constraintName());
      meta.put("constraintAdded", o.constraintAdded);
      meta.put("backup", "every row with id <= snapshotMaxId, plus the removed rows inserted after it");
      meta.put("snapshotMaxId", snapshotMaxId);
      meta.put("maxId", finalMaxId);
      meta.put("rowsBefore", before);
      meta.put("checksumBefore", snapshotChecksum.add((BigDecimal) inserted[1]).toPlainString());
      meta.put("removed", removed);
      try {
        Db.execute(c, "COMMENT ON TABLE " + backup.quoted() + " IS " + Sql.literal(JSON.writeValueAsString(meta)));
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
      Db.execute(c, "ANALYZE " + q);
      c.commit();
      o.lockHeldNanos = System.nanoTime() - lockedAt;
      return o;
    } catch (SQLException | RuntimeException e) {
      c.rollback();
      throw e;
    } finally {
      c.setAutoCommit(true);
    }
  }

  /** True when a valid, non-partial btree index on the table starts with column id. */
  public static boolean idIndexed(Connection c, TableRef table) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        + "JOIN pg_am am ON am.oid = i.relam JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
        + "WHERE x.indrelid = " + Sql.literal(table.quoted()) + "::regclass AND a.attname = 'id' AND am.amname = 'btree' "
        + "AND x.indisvalid AND x.indpred IS NULL") > 0;
  }

  private static WarehouseException vanished(TableRef table, long n) {
    return new WarehouseException("table " + table + ": " + n + " surviving row(s) were deleted or changed by "
        + "someone else during the run; nothing was changed, re-run dedupe");
  }

  /** What --rollback restored. */
  public static final class Restored {
    public long rowsRestored;
    public long rowsAfter;
    public boolean constraintDropped;
  }

  /**
   * Puts the removed rows back (the backup's rows the table lacks: same ids and values), drops the
   * constraint dedupe added, checks the rows with id ≤ the run's max id have exactly the pre-run count
   * and checksum, drops the backup —
   * all in one transaction; a mismatch rolls back and leaves the table deduplicated.
   */
  public static Restored rollback(Connection c, DedupeTarget t, int lockTimeoutSeconds) throws SQLException {
    TableRef table = t.table();
    TableRef backup = t.backupTable();
    if (!Db.tableExists(c, backup)) {
      throw new WarehouseException("table " + table + ": no backup " + backup + " to roll back from (never deduplicated, "
          + "or already rolled back)");
    }
    Map<?, ?> meta;
    try (PreparedStatement ps = c.prepareStatement("SELECT obj_description(?::regclass, 'pg_class')")) {
      ps.setString(1, backup.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        String comment = rs.getString(1);
        meta = comment == null ? null : JSON.readValue(comment, Map.class);
      }
    } catch (java.io.IOException e) {
      meta = null;
    }
    if (meta == null || !table.toString().equals(meta.get("dedupeOf"))) {
      throw new WarehouseException("table " + backup + " has no dedupe metadata for " + table
          + " (its comment was changed?): restore it by hand with INSERT INTO " + table + " SELECT * FROM " + backup);
    }
    long maxId = ((Number) meta.get("maxId")).longValue();
    long rowsBefore = ((Number) meta.get("rowsBefore")).longValue();
    BigDecimal checksumBefore = new BigDecimal((String) meta.get("checksumBefore"));
    Restored r = new Restored();
    Map<?, ?> recorded = meta; // effectively final, for the transaction below
    Db.inTransaction(c, () -> {
      Db.execute(c, "SET LOCAL lock_timeout = '" + lockTimeoutSeconds + "s'");
      Db.execute(c, "LOCK TABLE " + table.quoted() + " IN SHARE ROW EXCLUSIVE MODE");
      String constraint = (String) recorded.get("constraint");
      if (Boolean.TRUE.equals(recorded.get("constraintAdded")) && constraintExists(c, table, constraint)) {
        Db.execute(c, "ALTER TABLE " + table.quoted() + " DROP CONSTRAINT " + Sql.quoteIdent(constraint));
        r.constraintDropped = true;
      }
      // The backup holds every pre-run row with id <= the snapshot (the survivors too) plus the removed
      // rows inserted later: put back those the table lacks; the survivors are still there (if one was
      // changed since, the checksum below refuses). Nothing is deleted, so no FK can cascade.
      r.rowsRestored = update(c, "INSERT INTO " + table.quoted() + " OVERRIDING SYSTEM VALUE SELECT b.* FROM "
          + backup.quoted() + " b WHERE NOT EXISTS (SELECT 1 FROM " + table.quoted() + " t WHERE t.id = b.id)");
      Object[] now = countAndChecksum(c, table, Long.MIN_VALUE, maxId);
      if ((Long) now[0] != rowsBefore || ((BigDecimal) now[1]).compareTo(checksumBefore) != 0) {
        throw new WarehouseException("table " + table + ": rollback verification failed (rows with id <= " + maxId + ": "
            + now[0] + " vs " + rowsBefore + " before dedupe, checksum " + (((BigDecimal) now[1]).compareTo(checksumBefore) == 0
            ? "equal" : "differs") + "; were rows updated or deleted since?); nothing restored, backup " + backup + " kept");
      }
      Db.execute(c, "DROP TABLE " + backup.quoted());
      r.rowsAfter = Db.countRows(c, table);
      return null;
    });
    Db.execute(c, "ANALYZE " + table.quoted());
    return r;
  }

  /** Dry-run figures of one table. */
  public static final class Stats {
    public long rows;
    public long nullKeyRows;
    public long distinctKeys;
    public long bytes;

    public long duplicates() {
      return rows - nullKeyRows - distinctKeys;
    }

    /** Estimated: the table's size (with indexes and TOAST) times the share of duplicate rows. */
    public long reclaimableBytes() {
      return rows == 0 ? 0 : (long) ((double) bytes * duplicates() / rows);
    }
  }

  public static Stats stats(Connection c, DedupeTarget t) throws SQLException {
    Stats s = new Stats();
    String q = t.table().quoted();
    try (PreparedStatement ps = c.prepareStatement("SELECT count(*), count(*) FILTER (WHERE " + t.keyAnyNull()
        + "), pg_total_relation_size(?::regclass) FROM " + q)) {
      ps.setString(1, q);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        s.rows = rs.getLong(1);
        s.nullKeyRows = rs.getLong(2);
        s.bytes = rs.getLong(3);
      }
    }
    s.distinctKeys = Db.queryLong(c, "SELECT count(*) FROM (SELECT 1 FROM " + q + " WHERE " + t.keyNotNull("")
        + " GROUP BY " + t.quotedKey() + ") x");
    return s;
  }

  private static long update(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement()) {
      return st.executeUpdate(sql);
    }
  }

  private static String prefixed(String prefix, List<String> cols) {
    StringBuilder sb = new StringBuilder();
    for (String col : cols) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(prefix).append(Sql.quoteIdent(col));
    }
    return sb.toString();
  }
}
