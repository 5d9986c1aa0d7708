package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.sql.SQLException;
import org.warehouse.pipelines.dedupe.DedupePlan.TablePlan;
import org.warehouse.pipelines.dedupe.DedupeVerify.Verified;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Publishes one table, in ONE transaction; the backup (every snapshot row) is already in the run's copy
 * table and the survivors' ids in its keep table. Any failure rolls the whole transaction back: the table
 * is as it was. The run lock is proven still held last thing before COMMIT.
 *
 * <p>TRUNCATE path: rename the copy to the backup and (with an index on id) copy the survivors into a temp
 * table, both before the strong lock; {@code LOCK … ACCESS EXCLUSIVE} (readers and writers wait for this
 * short tail only); every survivor still there? the rows inserted since the snapshot join them; reconcile
 * those with the same rule (losers inserted after the snapshot go to the backup); TRUNCATE (transactional,
 * same OID); re-insert; add the UNIQUE constraint on the small table; validate; ANALYZE.
 *
 * <p>DELETE path (FK-referenced tables etc., and tables where most rows survive): without blocking the ETL
 * (row locks only) delete every snapshot row that is not its key's survivor; then under SHARE ROW
 * EXCLUSIVE (reads go on, writes wait) the same reconcile, constraint, validation, ANALYZE.
 */
final class DedupePublish {
  private DedupePublish() {}

  /** How the table's contents are replaced. */
  enum Replacement {
    TRUNCATE("truncate", "TRUNCATE + re-insert", "ACCESS EXCLUSIVE"),
    DELETE("delete", "DELETE", "SHARE ROW EXCLUSIVE");

    /** The report's {@code <table>.replacedBy} value. */
    final String reportName;
    final String description;
    /** The strong lock the final tail holds. */
    final String lockMode;

    Replacement(String reportName, String description, String lockMode) {
      this.reportName = reportName;
      this.description = description;
      this.lockMode = lockMode;
    }
  }

  /** What the publish transaction did. */
  record Outcome(Replacement replacement, String deleteReason, long removedSnapshot, long insertedDuringRun,
      long removedInserted, long rowsAfter, long nullKeyRows, boolean constraintAdded, long lockHeldNanos) {
    long removed() {
      return removedSnapshot + removedInserted;
    }
  }

  /** The state of one publish transaction as it goes. */
  static final class Txn {
    final TablePlan plan;
    final Snapshot snapshot;
    final long kept;
    final long snapshotRows;
    final String q;
    Replacement replacement;
    String deleteReason;
    boolean idIndexed;
    /** Where the rows that stay are: the temp table (TRUNCATE path) or the table itself. */
    String rows;
    long finalMaxId;
    RowSet inserted = RowSet.EMPTY;
    long removedSnapshot;
    long removedInserted;
    long rowsAfter;
    long nullKeyRows;
    boolean constraintAdded;
    long lockedAt;

    Txn(Verified v) {
      this.plan = v.snapshot().table();
      this.snapshot = v.snapshot();
      this.kept = v.counts().kept();
      this.snapshotRows = v.backup().rows().rows();
      this.q = plan.table().quoted();
    }

    boolean truncating() {
      return replacement == Replacement.TRUNCATE;
    }

    Outcome outcome(long lockHeldNanos) {
      return new Outcome(replacement, deleteReason, removedSnapshot, inserted.rows(), removedInserted, rowsAfter,
          nullKeyRows, constraintAdded, lockHeldNanos);
    }
  }

  static Outcome publish(Connection c, PublishGuard guard, Verified v, int lockTimeoutSeconds) throws SQLException {
    Txn x = new Txn(v);
    choosePath(c, x);
    try {
      Db.inTransaction(c, () -> {
        LockTimeouts.setLocal(c, lockTimeoutSeconds);
        // Before any strong lock on the table: the copy becomes the backup (renamed back on rollback).
        TableRef backup = x.plan.target().backupTable();
        Db.execute(c, "ALTER TABLE " + x.plan.copyTable().quoted() + " RENAME TO " + Sql.quoteIdent(backup.name()));
        Db.execute(c, "ALTER TABLE " + backup.quoted() + " RESET (autovacuum_enabled)");
        if (x.truncating()) {
          lockForTruncate(c, x, lockTimeoutSeconds);
        } else {
          deleteDuplicatesThenLock(c, x, lockTimeoutSeconds);
        }
        collectStayingRows(c, x);
        ReconcileAndValidate.run(c, x, v.backup().rows());
        guard.check(c);
        return null;
      });
    } catch (SQLException | RuntimeException e) {
      if (ConnectionLoss.isConnectionLoss(e)) {
        throw ConnectionLoss.explain(e, "publishing " + x.plan.table() + " (its transaction did not commit)");
      }
      throw e;
    }
    return x.outcome(System.nanoTime() - x.lockedAt);
  }

  /**
   * TRUNCATE + re-insert holds ACCESS EXCLUSIVE while it re-inserts every survivor: right when a few survive
   * (the ETL's profile: 99.8 % duplicates), wrong when most do, or when TRUNCATE must not touch the table.
   */
  private static void choosePath(Connection c, Txn x) throws SQLException {
    String blocker = DedupeSql.truncateBlocker(c, x.plan.table());
    if (blocker == null && x.kept * 2 > x.snapshotRows) {
      blocker = "most rows survive, " + x.kept + " of " + x.snapshotRows + ": deleting the duplicates blocks no reader";
    }
    x.replacement = blocker == null ? Replacement.TRUNCATE : Replacement.DELETE;
    x.deleteReason = blocker;
  }

  private static void lockForTruncate(Connection c, Txn x, int lockTimeoutSeconds) throws SQLException {
    TableRef table = x.plan.table();
    x.idIndexed = DedupeSql.idIndexed(c, table);
    Db.execute(c, "DROP TABLE IF EXISTS pg_temp.dedupe_rows");
    if (x.idIndexed) {
      // The survivors (snapshot rows: they do not change) go to a temp table by index probes, before the lock.
      Db.execute(c, "CREATE TEMP TABLE dedupe_rows ON COMMIT DROP AS SELECT t.* FROM " + x.plan.keepTable().quoted()
          + " k JOIN " + x.q + " t ON t.id = k.id");
    }
    LockTimeouts.execute(c, "LOCK TABLE " + x.q + " IN ACCESS EXCLUSIVE MODE", table.toString(), lockTimeoutSeconds,
        "readers or writers hold it");
    x.lockedAt = System.nanoTime();
    String now = DedupeSql.truncateBlocker(c, table); // a trigger or foreign key added since the check above?
    if (now != null) {
      throw new WarehouseException("table " + table + ": " + now + " since the run started; nothing changed, re-run");
    }
  }

  private static void deleteDuplicatesThenLock(Connection c, Txn x, int lockTimeoutSeconds) throws SQLException {
    String keep = x.plan.keepTable().quoted();
    x.removedSnapshot = DedupeSql.update(c, "DELETE FROM " + x.q + " AS t WHERE t.id <= " + x.snapshot.maxId()
        + " AND NOT EXISTS (SELECT 1 FROM " + keep + " k WHERE k.id = t.id)");
    long vanished = Db.queryLong(c, "SELECT count(*) FROM " + keep + " k WHERE NOT EXISTS (SELECT 1 FROM " + x.q
        + " t WHERE t.id = k.id)");
    if (vanished > 0) {
      throw vanished(x.plan.table(), vanished);
    }
    LockTimeouts.execute(c, "LOCK TABLE " + x.q + " IN SHARE ROW EXCLUSIVE MODE", x.plan.table().toString(),
        lockTimeoutSeconds, "writers hold it");
    x.lockedAt = System.nanoTime();
  }

  /** The rows that stay: the survivors of the snapshot (checked still there) and the rows inserted since. */
  private static void collectStayingRows(Connection c, Txn x) throws SQLException {
    long snapshotMax = x.snapshot.maxId();
    TableRef staying = TableRef.of("pg_temp", "dedupe_rows");
    if (x.truncating() && x.idIndexed) {
      x.rows = staying.quoted();
      // Index probes under the lock: every survivor still there? then the rows inserted since the snapshot.
      long present = Db.queryLong(c, "SELECT count(*) FROM " + x.rows + " r WHERE EXISTS (SELECT 1 FROM " + x.q
          + " t WHERE t.id = r.id)");
      if (present != x.kept) {
        throw vanished(x.plan.table(), x.kept - present);
      }
      x.finalMaxId = Math.max(snapshotMax, Db.queryLong(c, "SELECT coalesce(max(id), 0) FROM " + x.q));
      x.inserted = DedupeSql.countAndChecksum(c, x.plan.table(), snapshotMax, x.finalMaxId);
      DedupeSql.update(c, "INSERT INTO " + x.rows + " SELECT * FROM " + x.q + " WHERE id > " + snapshotMax);
    } else if (x.truncating()) {
      // No index on id: ONE scan of the table under the lock (each statement above would be a scan): the
      // survivors still there and every row inserted since the snapshot, by a hash join on the survivor ids.
      x.rows = staying.quoted();
      Db.execute(c, "CREATE TEMP TABLE dedupe_rows ON COMMIT DROP AS SELECT t.* FROM " + x.q + " t LEFT JOIN "
          + x.plan.keepTable().quoted() + " k ON k.id = t.id WHERE k.id IS NOT NULL OR t.id > " + snapshotMax);
      long present = Db.queryLong(c, "SELECT count(*) FROM " + x.rows + " WHERE id <= " + snapshotMax);
      if (present < x.kept) {
        throw vanished(x.plan.table(), x.kept - present);
      } else if (present > x.kept) {
        throw new WarehouseException("table " + x.plan.table() + ": " + (present - x.kept) + " surviving id(s) appear "
            + "more than once (id is not unique); nothing was changed");
      }
      x.finalMaxId = Math.max(snapshotMax, Db.queryLong(c, "SELECT coalesce(max(id), 0) FROM " + x.rows));
      x.inserted = DedupeSql.countAndChecksum(c, staying, snapshotMax, x.finalMaxId);
    } else {
      x.rows = x.q;
      x.finalMaxId = Math.max(snapshotMax, Db.queryLong(c, "SELECT coalesce(max(id), 0) FROM " + x.q));
      x.inserted = DedupeSql.countAndChecksum(c, x.plan.table(), snapshotMax, x.finalMaxId);
    }
    if (x.truncating()) {
      x.removedSnapshot = x.snapshotRows - x.kept; // the DELETE path counted its deletes
    }
  }

  static WarehouseException vanished(TableRef table, long n) {
    return new WarehouseException("table " + table + ": " + n + " surviving row(s) were deleted or changed by "
        + "someone else during the run; nothing was changed, re-run dedupe");
  }
}
