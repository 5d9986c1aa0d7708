package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.repartition.RepartitionPipeline.RepartitionOptions;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;

/**
 * The driver side of one repartition around the Beam copy, in the order {@link RepartitionPipeline#run}
 * calls it: {@link #start} (work tables; the offline SHARE lock or the online capture trigger; the plan),
 * {@link #verify} (and, online, catch up), {@link #publish} (the switch), or {@link #abandon} on failure.
 */
abstract class Migration {
  final Connection c;
  final JdbcConfig db;
  final RepartitionOptions options;
  final Progress progress;
  final RunReport report;
  final String runId = Staging.runId();
  final long started = System.nanoTime();
  RepartitionPlan plan;

  Migration(Connection c, JdbcConfig db, RepartitionOptions options, Progress progress, RunReport report) {
    this.c = c;
    this.db = db;
    this.options = options;
    this.progress = progress;
    this.report = report;
  }

  static Migration of(Connection c, JdbcConfig db, RepartitionOptions o, Progress progress, RunReport report) {
    return o.getOffline() ? new OfflineMigration(c, db, o, progress, report)
        : new OnlineMigration(c, db, o, progress, report);
  }

  /** Makes the plan and everything the copy needs; from here on a failure must {@link #abandon}. */
  abstract RepartitionPlan start(TableShape shape, FreeSpace free) throws Exception;

  /** Proves the new table holds the original's rows, each in its month's partition (online: catching up). */
  abstract Proof verify() throws Exception;

  /** The switch: the new table takes the original's name; the run lock is checked before COMMIT. */
  abstract SwitchResult publish(PipelineLock lock, Proof proof) throws Exception;

  /**
   * The end of the switch, in the open transaction that holds the original's ACCESS EXCLUSIVE lock: the
   * original's triggers onto the new table, the renames, the views and foreign keys follow, the run lock
   * is proven, COMMIT. Returns what followed (its foreign keys are validated after, see {@link #validate}).
   */
  Dependents switchOver(PipelineLock lock) throws SQLException {
    Dependents dependents = Dependents.read(c, plan.table());
    List<String> sql = new ArrayList<>(dependents.triggersOn(plan.staging()));
    sql.addAll(new PartitionDdl(plan).swapSql());
    sql.addAll(dependents.followSql());
    for (String s : sql) {
      Db.execute(c, s);
    }
    lock.check(c);
    c.commit();
    c.setAutoCommit(true);
    return dependents;
  }

  /** After the switch: re-pointed foreign keys validated (no lock that blocks writers of the table). */
  void validate(Dependents dependents) {
    if (dependents.isEmpty()) {
      return;
    }
    progress.say("repartition: followed the table: %s", dependents.describe());
    for (String s : dependents.validateSql()) {
      try {
        Db.execute(c, s);
      } catch (SQLException e) {
        progress.say("repartition: %s failed (%s): the foreign key stays NOT VALID (enforced for new rows); "
            + "run it again later", s, e.getMessage());
      }
    }
  }

  /** Drops the run's work objects after a failure (the original was never renamed). */
  void abandon(Throwable cause) {
    try {
      if (!c.getAutoCommit()) {
        c.rollback();
      }
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
    if (plan != null) {
      WorkTables.dropQuietly(db, plan, options.getLockTimeoutSeconds(), progress);
    }
  }

  /** Registers the clean-up of the work objects for SIGTERM/SIGINT. */
  void dropOnCancel() {
    RepartitionPlan p = plan;
    report.onCancel("drop the repartition work tables",
        () -> WorkTables.dropQuietly(db, p, options.getLockTimeoutSeconds(), progress));
  }
}
