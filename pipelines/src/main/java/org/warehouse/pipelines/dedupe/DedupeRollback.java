package org.warehouse.pipelines.dedupe;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * {@code --rollback}: puts the removed rows back (the backup's rows the table lacks: same ids and values),
 * drops the constraint dedupe added, checks the rows with id ≤ the run's max id have exactly the pre-run
 * count and checksum, drops the backup — all in one transaction per table; a mismatch rolls back and leaves
 * the table deduplicated.
 */
final class DedupeRollback {
  private static final ObjectMapper JSON = new ObjectMapper();

  private DedupeRollback() {}

  /** What --rollback restored in one table. */
  record Restored(long rowsRestored, long rowsAfter, boolean constraintDropped) {}

  /** What the backup's comment recorded (see {@code ReconcileAndValidate.describeBackup}). */
  private record Recorded(String constraint, boolean constraintAdded, long maxId, RowSet before) {}

  static void run(Connection c, PublishGuard guard, DedupePlan plan, Progress progress, RunReport report)
      throws SQLException {
    int i = 0;
    for (DedupePlan.TablePlan tp : plan.tables()) {
      DedupeTarget t = tp.target();
      Restored r = rollback(c, guard, t, plan.lockTimeoutSeconds());
      progress.step(++i, plan.tables().size(), "%s: %s rows restored, now %s rows; constraint %s %s; checksum verified",
          t.table(), Progress.rows(r.rowsRestored()), Progress.rows(r.rowsAfter()), t.constraintName(),
          r.constraintDropped() ? "dropped" : "left as it was");
      report.table(t.table().toString(), r.rowsAfter(), "rolled back: " + r.rowsRestored() + " rows restored");
    }
  }

  static Restored rollback(Connection c, PublishGuard guard, DedupeTarget t, int lockTimeoutSeconds)
      throws SQLException {
    TableRef table = t.table();
    TableRef backup = t.backupTable();
    Recorded recorded = recorded(c, t);
    Restored r = Db.inTransaction(c, () -> {
      LockTimeouts.setLocal(c, lockTimeoutSeconds);
      LockTimeouts.execute(c, "LOCK TABLE " + table.quoted() + " IN SHARE ROW EXCLUSIVE MODE", table.toString(),
          lockTimeoutSeconds, "writers hold it");
      boolean dropped = false;
      if (recorded.constraintAdded() && DedupeSql.constraintExists(c, table, recorded.constraint())) {
        Db.execute(c, "ALTER TABLE " + table.quoted() + " DROP CONSTRAINT " + Sql.quoteIdent(recorded.constraint()));
        dropped = true;
      }
      // The backup holds every pre-run row with id <= the snapshot (the survivors too) plus the removed rows
      // inserted later: put back those the table lacks; the survivors are still there (if one was changed
      // since, the checksum below refuses). Nothing is deleted, so no FK can cascade.
      long restored = DedupeSql.update(c, "INSERT INTO " + table.quoted() + " OVERRIDING SYSTEM VALUE SELECT b.* FROM "
          + backup.quoted() + " b WHERE NOT EXISTS (SELECT 1 FROM " + table.quoted() + " t WHERE t.id = b.id)");
      RowSet now = DedupeSql.countAndChecksum(c, table, Long.MIN_VALUE, recorded.maxId());
      if (!now.sameAs(recorded.before())) {
        throw new WarehouseException("table " + table + ": rollback verification failed (rows with id <= "
            + recorded.maxId() + ": " + now.rows() + " vs " + recorded.before().rows() + " before dedupe, checksum "
            + (now.checksum().compareTo(recorded.before().checksum()) == 0 ? "equal" : "differs")
            + "; were rows updated or deleted since?); nothing restored, backup " + backup + " kept");
      }
      Db.execute(c, "DROP TABLE " + backup.quoted());
      Restored done = new Restored(restored, Db.countRows(c, table), dropped);
      guard.check(c);
      return done;
    });
    Db.execute(c, "ANALYZE " + table.quoted());
    return r;
  }

  private static Recorded recorded(Connection c, DedupeTarget t) throws SQLException {
    TableRef backup = t.backupTable();
    if (!Db.tableExists(c, backup)) {
      throw new WarehouseException("table " + t.table() + ": no backup " + backup + " to roll back from (never "
          + "deduplicated, or already rolled back)");
    }
    Map<?, ?> meta;
    try (PreparedStatement ps = c.prepareStatement("SELECT obj_description(?::regclass, 'pg_class')")) {
      ps.setString(1, backup.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        String comment = rs.getString(1);
        meta = comment == null ? null : JSON.readValue(comment, Map.class);
      }
    } catch (IOException e) {
      meta = null;
    }
    if (meta == null || !t.table().toString().equals(meta.get("dedupeOf"))) {
      throw new WarehouseException("table " + backup + " has no dedupe metadata for " + t.table()
          + " (its comment was changed?): restore it by hand with INSERT INTO " + t.table() + " SELECT * FROM " + backup);
    }
    return new Recorded((String) meta.get("constraint"), Boolean.TRUE.equals(meta.get("constraintAdded")),
        ((Number) meta.get("maxId")).longValue(), new RowSet(((Number) meta.get("rowsBefore")).longValue(),
            new BigDecimal((String) meta.get("checksumBefore"))));
  }
}
