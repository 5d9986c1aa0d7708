package org.warehouse.pipelines.aggregate;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.LockTimeoutOptions;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.births.AggregateBirths;
import org.warehouse.transforms.births.Dimensions;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.births.FormatAggregates;
import org.warehouse.transforms.births.ReadBirths;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.jdbc.WriteByCopy;

/**
 * aggregate: reads fact_births once, in parallel and as of one moment, and writes every agg_* table.
 * Plan ({@link AggregatePlan}) → snapshot of the inputs ({@link FactSnapshot}) → Beam graph ({@link
 * #graph}: dimensions as side inputs, fact ranges → every grain → COPY into this run's staging tables)
 * → verify ({@link Reconcile}) → publish all tables in one transaction ({@link Publish}). Any failure
 * before the publish drops the staging tables and leaves every agg table as it was.
 */
public final class AggregatePipeline {
  private static final Logger LOG = LoggerFactory.getLogger(AggregatePipeline.class);
  static final String PIPELINE = "aggregate";
  static final String UNCHANGED = "agg tables unchanged";

  /** Options of {@code scripts/run aggregate}. */
  public interface AggregateOptions extends WarehouseOptions, LockTimeoutOptions {
    @Description("Fact table to aggregate ([schema.]table)")
    @Default.String(FactBirths.DEFAULT_TABLE)
    String getFactTable();

    void setFactTable(String value);

    @Description("Number of birth_id ranges read in parallel, each on its own connection (0 = 4 x cores)")
    @Default.Integer(0)
    int getPartitions();

    void setPartitions(int value);

    @Description("Publish empty agg tables when the fact table is empty (default: refuse and exit 1)")
    @Default.Boolean(false)
    boolean getAllowEmpty();

    void setAllowEmpty(boolean value);
  }

  private AggregatePipeline() {}

  /** Test seam: runs the whole job (checks, pipeline, verification, swap). */
  public static PipelineResult run(AggregateOptions options) throws Exception {
    return run(options, new RunReport(PIPELINE));
  }

  public static PipelineResult run(AggregateOptions options, RunReport report) throws Exception {
    return run(options, report, ReadBirths.RangeHook.NONE);
  }

  static PipelineResult run(AggregateOptions options, RunReport report, ReadBirths.RangeHook hook) throws Exception {
    AggregatePlan plan = AggregatePlan.of(options, Runtime.getRuntime().availableProcessors(), Staging.runId());
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    Progress progress = Progress.stdout();
    long started = System.nanoTime();
    try (PipelineLock lock = PipelineLock.acquire(db, PIPELINE);
        Connection c = db.connect("warehouse-aggregate")) {
      PipelineResult result;
      try (FactSnapshot snapshot = FactSnapshot.open(db, plan)) {
        FactSnapshot.FactStats stats = snapshot.stats();
        progress.say("aggregate: %s has %s rows (birth_id %d..%d); %d tables to build%s", plan.fact(),
            Progress.rows(stats.rows()), stats.minId(), stats.maxId(), plan.targets().size(),
            snapshot.hasCategoryColumns() ? "" : " (no gestation_category/prenatal_category columns: preterm and "
                + "adequate prenatal births count from weeks and visits only)");
        createStaging(c, plan, progress, report, db);
        try {
          long checked = System.nanoTime();
          result = stats.rows() == 0 ? null
              : BeamRun.run(graph(Pipeline.create(options), plan, db, snapshot, hook), report, UNCHANGED);
          if (result != null) {
            report.countersFrom(result);
          }
          long piped = System.nanoTime();
          Reconcile.verify(c, plan, stats, snapshot.dimensions().stateCodes());
          timings(report, checked - started, piped - checked, System.nanoTime() - piped);
          Publish.publish(c, plan, lock, progress, report);
        } catch (Exception e) {
          Staging.dropQuietly(db, PIPELINE, plan.staging().values());
          throw oneLineCause(e, snapshot, lock, db);
        } catch (Error e) {
          Staging.dropQuietly(db, PIPELINE, plan.staging().values());
          throw e;
        }
        summary(c, plan, stats.rows(), started, progress, report);
      }
      return result;
    }
  }

  /**
   * The Beam graph: the snapshot's dimensions as side inputs; the fact table's birth_id ranges, each
   * read in the snapshot → every grain aggregated → formatted with names → COPY into the staging tables.
   */
  static Pipeline graph(Pipeline p, AggregatePlan plan, JdbcConfig db, FactSnapshot snapshot,
      ReadBirths.RangeHook hook) {
    Dimensions.Views dims = Dimensions.views(p.begin(), snapshot.dimensions());
    FactSnapshot.FactStats stats = snapshot.stats();
    ReadBirths read = ReadBirths.from(db, plan.fact(), snapshot.id(), plan.partitions(), stats.minId(), stats.maxId());
    p.apply("ReadFactBirths", (snapshot.hasCategoryColumns() ? read : read.withoutCategoryColumns()).withRangeHook(hook))
        .apply("AggregateEveryGrain", AggregateBirths.with(dims))
        .apply("FormatRowsWithNames", FormatAggregates.into(plan.staging(), dims))
        .apply("CopyIntoStagingTables", WriteByCopy.to(db));
    return p;
  }

  /** Drops what a dead run left (under the run lock), then creates this run's staging tables. */
  private static void createStaging(Connection c, AggregatePlan plan, Progress progress, RunReport report,
      JdbcConfig db) throws Exception {
    for (AggTable t : AggTable.values()) {
      List<TableRef> leftovers = Staging.leftovers(c, plan.targets().get(t), AggregatePlan.STAGING_KIND);
      Staging.dropLeftovers(c, leftovers, progress, PIPELINE);
    }
    report.onCancel("drop staging", () -> Staging.dropQuietly(db, PIPELINE, plan.staging().values()));
    for (AggTable t : AggTable.values()) {
      Db.execute(c, t.createTableSql(plan.staging().get(t)));
    }
  }

  /**
   * The one line a failure is best explained by: a connection the server ended, anywhere in the run; a
   * reader that could not import the snapshot because the snapshot's session ended; a run lock lost
   * meanwhile (another run may have taken it and dropped this run's staging as a dead run's); else the
   * failure as it is.
   */
  private static Exception oneLineCause(Exception e, FactSnapshot snapshot, PipelineLock lock, JdbcConfig db) {
    if (ConnectionLoss.isConnectionLoss(e)) {
      return ConnectionLoss.explain(e, "building the agg tables; " + UNCHANGED);
    }
    if (!snapshot.isOpen()) {
      return ConnectionLoss.explain(e, "the fact table was read in the run's snapshot (its session ended); " + UNCHANGED);
    }
    try (Connection fresh = db.connect("warehouse-aggregate-check")) {
      lock.check(fresh);
    } catch (WarehouseException lost) {
      lost.addSuppressed(e);
      return lost;
    } catch (SQLException unreachable) {
      // the server cannot be reached to ask: the failure itself is the best account
    }
    return e;
  }

  private static void summary(Connection c, AggregatePlan plan, long factRows, long started, Progress progress,
      RunReport report) throws SQLException {
    long unmatched = Db.queryLong(c, "SELECT coalesce(sum(total_births), 0) FROM " + plan.unmatchedTarget().quoted());
    report.detail("factRows", factRows).detail("unmatchedMunicipalityBirths", unmatched);
    progress.say("aggregate: done in %s; %s births, %s with a residence code no municipality has (listed in %s)",
        Progress.seconds(System.nanoTime() - started), Progress.rows(factRows), Progress.rows(unmatched),
        plan.unmatchedTarget());
  }

  private static void timings(RunReport report, long checkNanos, long pipelineNanos, long verifyNanos) {
    report.detail("checkSeconds", checkNanos / 1e9).detail("pipelineSeconds", pipelineNanos / 1e9)
        .detail("verifySeconds", verifyNanos / 1e9);
    LOG.info("checks {}, pipeline {}, reconcile + keys {}", Progress.seconds(checkNanos),
        Progress.seconds(pipelineNanos), Progress.seconds(verifyNanos));
  }
}
