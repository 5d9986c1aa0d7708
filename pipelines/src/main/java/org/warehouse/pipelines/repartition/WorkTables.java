package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.JdbcUrls;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.repartition.CopyRangesInDatabase;

/**
 * The run's work objects: the partitioned table under its work name, the copy's ledger, the online
 * mode's change log and capture trigger. Named per run ({@link Staging}); a killed run's are dropped,
 * announced, by the next run; a failed run drops its own on a fresh connection.
 */
final class WorkTables {
  /** A clean-up (failure, SIGTERM) waits at most this long for the trigger's lock, as {@link Staging#dropQuietly}. */
  private static final int CLEANUP_LOCK_SECONDS = 5;

  private WorkTables() {}

  /** Drops what a run that did not finish left (capture trigger first: it writes into its log). */
  static void dropLeftovers(Connection c, TableRef table, int lockTimeoutSeconds, Progress progress)
      throws SQLException {
    ChangeCapture.dropLeftover(c, table, lockTimeoutSeconds, progress);
    for (String kind : RepartitionPlan.WORK_KINDS) {
      Staging.dropLeftovers(c, Staging.leftovers(c, table, kind), progress, "repartition");
    }
  }

  /** The partitioned work table, its partitions and owner, and the copy's ledger. */
  static void create(Connection ddl, RepartitionPlan plan) throws SQLException {
    PartitionDdl sql = new PartitionDdl(plan);
    List<String> statements = new ArrayList<>(sql.createSql());
    statements.addAll(sql.ownerSql(ddl.getMetaData().getUserName()));
    statements.add(CopyRangesInDatabase.ledgerSql(plan.ledger().quoted()));
    for (String s : statements) {
      Db.execute(ddl, s);
    }
  }

  /** Keys (widened), indexes, foreign keys, grants of the new table, then ANALYZE. */
  static void keysAndAnalyze(Connection ddl, RepartitionPlan plan, Progress progress) throws SQLException {
    long t0 = System.nanoTime();
    for (String sql : new PartitionDdl(plan).keySql()) {
      Db.execute(ddl, sql);
    }
    Db.execute(ddl, "ANALYZE " + plan.staging().quoted());
    progress.say("repartition: keys, indexes and ANALYZE in %s", Progress.seconds(System.nanoTime() - t0));
  }

  /**
   * After a failure, on fresh connections: the capture trigger (if the run made one; its change log is
   * kept when the trigger cannot be dropped, so that writes never fail), then the work tables. Never
   * throws: what cannot be dropped is named, and the next run drops it.
   */
  static void dropQuietly(JdbcConfig db, RepartitionPlan plan, int lockTimeoutSeconds, Progress progress) {
    List<TableRef> tables = new ArrayList<>(List.of(plan.staging(), plan.ledger()));
    if (plan.online()) {
      try (Connection c = db.connect("warehouse-repartition-cleanup")) {
        ChangeCapture.drop(c, plan.table(), Math.min(CLEANUP_LOCK_SECONDS, lockTimeoutSeconds));
        tables.add(plan.changeLog());
      } catch (SQLException | RuntimeException e) {
        progress.say("repartition: could not drop the capture trigger %s on %s: %s; it only logs keys into %s, "
            + "and the next run drops both", RepartitionPlan.captureOf(plan.table()), plan.table(),
            JdbcUrls.redact(String.valueOf(e.getMessage())), plan.changeLog());
      }
    }
    Staging.dropQuietly(db, "repartition", tables);
  }
}
