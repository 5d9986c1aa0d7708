package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.repartition.CopyRangesInDatabase;
import org.warehouse.transforms.tablecopy.CtidRanges;
import org.warehouse.transforms.tablecopy.TableRange;

/**
 * The Beam part of repartition: the original's ctid page ranges, each copied into the partitioned table
 * by one {@code INSERT … SELECT} on the server (rows never travel to the JVM), in parallel, each range
 * committed with its ledger row. Progress every 5 s from the ledger: rows copied, of the estimate, rate.
 */
public final class CopyGraph {
  private static final long PROGRESS_SECONDS = 5;

  private CopyGraph() {}

  /** The original's page ranges of about {@code rangeRows} rows each (the last one open). */
  public static List<TableRange> ranges(RepartitionPlan plan, long rangeRows) {
    return CtidRanges.split(plan.staging().quoted(), plan.quotedColumns(), plan.table().quoted(),
        plan.shape().pages(), plan.estimatedRows(), rangeRows);
  }

  /** The graph: {@code PageRanges → SpreadRanges → CopyIntoPartitions}. */
  public static void build(Pipeline p, List<TableRange> ranges, JdbcConfig db, String quotedLedger) {
    p.apply("PageRanges", Create.of(ranges).withCoder(TableRange.Coder.of()))
        .apply("SpreadRanges", Reshuffle.viaRandomKey())
        .apply("CopyIntoPartitions", CopyRangesInDatabase.into(db, quotedLedger));
  }

  /** Builds and runs the graph; fails unless it ends DONE. */
  public static PipelineResult run(RepartitionPlan plan, JdbcConfig db, PipelineOptions options, long rangeRows,
      RunReport report, Progress progress) throws SQLException {
    List<TableRange> ranges = ranges(plan, rangeRows);
    progress.say("repartition: copying %s in %d range(s)%s...", plan.estimate(), ranges.size(),
        plan.online() ? " while writers go on (their changes are captured)" : "");
    Pipeline p = Pipeline.create(options);
    build(p, ranges, db, plan.ledger().quoted());
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
    long started = System.nanoTime();
    try (Connection watch = db.connect("warehouse-repartition-progress")) {
      AtomicLong shown = new AtomicLong(-1);
      ticker.scheduleWithFixedDelay(() -> show(watch, plan, ranges.size(), started, shown, progress),
          PROGRESS_SECONDS, PROGRESS_SECONDS, TimeUnit.SECONDS);
      PipelineResult result = BeamRun.run(p, report, "the original table " + plan.table() + " is unchanged");
      report.countersFrom(result);
      progress.say("repartition: copied in %s", Progress.seconds(System.nanoTime() - started));
      return result;
    } finally {
      ticker.shutdownNow();
      try {
        ticker.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void show(Connection watch, RepartitionPlan plan, int ranges, long started, AtomicLong shown,
      Progress progress) {
    try {
      String ledger = plan.ledger().quoted();
      long rows = Db.queryLong(watch, "SELECT coalesce(sum(rows_copied), 0) FROM " + ledger);
      long done = Db.queryLong(watch, "SELECT count(*) FROM " + ledger + " WHERE rows_copied IS NOT NULL");
      if (rows != shown.getAndSet(rows)) {
        double seconds = Math.max(1e-3, (System.nanoTime() - started) / 1e9);
        progress.say("repartition: %s rows copied of %s (%d of %d ranges), %s rows/s", Progress.rows(rows),
            plan.estimate(), done, ranges, Progress.rows((long) (rows / seconds)));
      }
    } catch (SQLException e) {
      // progress only: the copy itself reports its errors
    }
  }
}
