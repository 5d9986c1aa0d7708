package org.warehouse.pipelines.promote;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.pipelines.promote.targetdb.RunLock;
import org.warehouse.pipelines.promote.targetdb.StagedTable;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Publishes every verified staging table in ONE target transaction, which proves last, before its
 * commit, that this run still holds its run lock; and says in one line why a run failed once it
 * holds that lock.
 */
final class PromotePublish {
  private PromotePublish() {}

  /** How each copy was published, in order ("created", "swapped (rename)", …). */
  static List<String> publish(TargetDatabase target, Connection tgt, List<PromotePlan.Copy> copies,
      int lockTimeoutSeconds, RunLock lock) throws SQLException {
    List<StagedTable> staged = new ArrayList<>();
    for (PromotePlan.Copy c : copies) {
      staged.add(new StagedTable(c.staging(), c.table().target(), c.definition()));
    }
    return target.publish(tgt, staged, lockTimeoutSeconds, lock);
  }

  /**
   * The error to report for a failure while {@code step}: a lost run lock first (another run may
   * have got in and dropped or replaced this run's tables: whatever failed then is a consequence),
   * then a connection the server ended (the source session holding the run's snapshot, whose end makes
   * the readers fail on the snapshot, or the failed statement's), else the error itself.
   */
  static Exception explain(Exception e, String step, RunLock lock, Connection tgt, SourceSide source) {
    if (e instanceof WarehouseException && String.valueOf(e.getMessage()).startsWith("lost the run lock")) {
      return e;
    }
    WarehouseException lost = lostLock(lock, tgt);
    if (lost != null) {
      lost.addSuppressed(e);
      return lost;
    }
    if (!source.alive()) {
      return ConnectionLoss.explain(e, step + " (the source session holding the run's snapshot ended)");
    }
    return ConnectionLoss.isConnectionLoss(e) ? ConnectionLoss.explain(e, step) : e;
  }

  /** The lock's "lost the run lock" error when the run no longer holds it; null when it does or nobody can tell. */
  private static WarehouseException lostLock(RunLock lock, Connection tgt) {
    try {
      if (!tgt.isClosed() && tgt.getAutoCommit()) {
        lock.check(tgt);
      }
      return null;
    } catch (WarehouseException lost) {
      return lost;
    } catch (SQLException | RuntimeException unknown) {
      return null;
    }
  }
}
