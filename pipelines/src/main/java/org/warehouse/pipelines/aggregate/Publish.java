package org.warehouse.pipelines.aggregate;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;

/**
 * Publishes every verified staging table as its agg table in ONE transaction ({@link TableSwap}), which
 * proves, last thing before COMMIT, that this run still holds the run lock: a run that lost it
 * publishes nothing. Then prints and reports each table.
 */
final class Publish {
  private Publish() {}

  static void publish(Connection c, AggregatePlan plan, PipelineLock lock, Progress progress, RunReport report)
      throws SQLException {
    List<String> how = TableSwap.publish(c, plan.swaps(), plan.lockTimeoutSeconds(), lock);
    int i = 0;
    for (AggTable t : AggTable.values()) {
      TableRef target = plan.targets().get(t);
      Db.execute(c, "ANALYZE " + target.quoted());
      long rows = Db.countRows(c, target);
      String action = how.get(i).substring(how.get(i).indexOf(": ") + 2);
      progress.step(++i, plan.targets().size(), "%-28s %10s rows  %s", target, Progress.rows(rows), action);
      report.table(target.toString(), rows, action);
    }
  }
}
