package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;
import org.warehouse.pipelines.common.DryRunOptions;
import org.warehouse.pipelines.common.LockTimeoutOptions;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.common.Validate;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * repartition: moves a table into a table range-partitioned by month of a date/timestamp column, proves
 * that every row arrived in its month's partition, and swaps it in; the original stays as the backup
 * (see docs/repartition.md). Plan ({@link CatalogReader}, {@link RepartitionPlan}) → graph ({@link
 * CopyGraph}) → verify → publish ({@link OnlineMigration} by default: writers go on until the switch;
 * {@link OfflineMigration} with {@code --offline=true}); {@link Rollback} swaps back.
 */
public final class RepartitionPipeline {
  /** Options of {@code scripts/run repartition}. */
  public interface RepartitionOptions extends WarehouseOptions, LockTimeoutOptions, DryRunOptions {
    @Description("Table to partition ([schema.]table), e.g. fact_births")
    @Validation.Required
    String getTable();

    void setTable(String value);

    @Description("date, timestamp or timestamptz column whose month picks the partition (timestamptz: the month in UTC); "
        + "required but with --rollback")
    String getPartitionColumn();

    void setPartitionColumn(String value);

    @Description("Partitions for this many months after the last month with rows (later rows go to the default partition)")
    @Default.Integer(12)
    int getMonthsAhead();

    void setMonthsAhead(int value);

    @Description("About this many rows per copy range (ranges are copied in parallel, each in its own transaction)")
    @Default.Integer(250000)
    int getRangeRows();

    void setRangeRows(int value);

    @Description("Hold a SHARE lock from the copy to the swap (writers wait for the whole run) instead of capturing "
        + "their changes with a trigger; needed for a table without a primary key or unique NOT NULL key")
    @Default.Boolean(false)
    boolean getOffline();

    void setOffline(boolean value);

    @Description("Put the original table back (from <table>_unpartitioned_backup) if nothing changed since the run")
    @Default.Boolean(false)
    boolean getRollback();

    void setRollback(boolean value);

    @Description("Refuse up front when the free disk space where the new table will live (read with df through the "
        + "server: needs a superuser or a member of pg_execute_server_program, else not checked) is less than the "
        + "table with its TOAST and indexes + 10%; false skips it, e.g. on thin volumes whose df figure is not the "
        + "real room")
    @Default.Boolean(true)
    boolean getCheckDiskSpace();

    void setCheckDiskSpace(boolean value);
  }

  private RepartitionPipeline() {}

  public static PipelineResult run(RepartitionOptions options) throws Exception {
    return run(options, new RunReport("repartition"));
  }

  public static PipelineResult run(RepartitionOptions o, RunReport report) throws Exception {
    return run(o, report, DiskSpace::measure);
  }

  /** As {@link #run(RepartitionOptions, RunReport)}, the free disk space measured by {@code disk}. */
  static PipelineResult run(RepartitionOptions o, RunReport report, DiskSpace.Meter disk) throws Exception {
    validate(o);
    TableRef table = TableRef.parse(o.getTable(), o.getSchema());
    JdbcConfig db = WarehouseOptions.jdbcConfig(o);
    Progress progress = Progress.stdout();
    try (PipelineLock lock = PipelineLock.acquire(db, "repartition");
        Connection c = db.connect("warehouse-repartition")) {
      if (o.getRollback()) {
        new Rollback(c, table, o.getLockTimeoutSeconds()).run(lock, progress, report);
        return null;
      }
      TableShape shape = CatalogReader.read(c, table, o.getPartitionColumn());
      if (shape == null) {
        progress.say("repartition: %s is already partitioned by range of %s: nothing to do", table, o.getPartitionColumn());
        report.table(table.toString(), -1, "already partitioned");
        return null;
      }
      FreeSpace free = refuseUpFront(c, shape, o.getCheckDiskSpace() ? disk : null);
      if (o.getDryRun()) {
        PlanPrinter.dryRun(new RepartitionPlan(shape, CatalogReader.months(c, shape), o.getMonthsAhead(),
            !o.getOffline(), Staging.runId(), free), progress);
        return null;
      }
      Migration m = Migration.of(c, db, o, progress, report);
      PipelineResult result;
      Proof proof;
      SwitchResult switched;
      try {
        RepartitionPlan plan = m.start(shape, free);
        result = CopyGraph.run(plan, db, o, o.getRangeRows(), report, progress);
        proof = m.verify();
        switched = m.publish(lock, proof);
      } catch (Exception | Error e) {
        m.abandon(e);
        throw e;
      }
      finish(c, m.plan, proof, switched, System.nanoTime() - m.started, progress, report);
      return result;
    }
  }

  private static void validate(RepartitionOptions o) {
    if (o.getDryRun() && o.getRollback()) {
      throw new UsageException("--dryRun and --rollback exclude each other");
    }
    Validate.atLeast("monthsAhead", o.getMonthsAhead(), 0);
    Validate.atLeast("rangeRows", o.getRangeRows(), 1);
    LockTimeoutOptions.validate(o);
    if (!o.getRollback() && (o.getPartitionColumn() == null || o.getPartitionColumn().isBlank())) {
      throw new UsageException("missing required option --partitionColumn (the date, timestamp or timestamptz "
          + "column whose month picks the partition)");
    }
  }

  /**
   * Before any lock or change: refuses a table whose backup name is taken, measures the free disk space
   * ({@code disk} null: --checkDiskSpace=false) and refuses a table whose copy would not fit.
   */
  private static FreeSpace refuseUpFront(Connection c, TableShape shape, DiskSpace.Meter disk) throws SQLException {
    TableRef table = shape.table();
    if (Db.tableExists(c, RepartitionPlan.backupOf(table))) {
      throw new WarehouseException("table " + RepartitionPlan.backupOf(table) + " exists (the backup of an earlier "
          + "repartition of " + table + " that was rolled back or renamed?): drop it or rename it, then re-run; "
          + "nothing changed");
    }
    FreeSpace free = disk == null ? FreeSpace.unchecked(null, "--checkDiskSpace=false") : disk.measure(c, shape);
    RepartitionPlan.refuseWithoutRoom(shape, free);
    return free;
  }

  /** After the switch: the pruning check on the published table, the summary and the report. */
  private static void finish(Connection c, RepartitionPlan plan, Proof proof, SwitchResult switched, long nanos,
      Progress progress, RunReport report) throws SQLException {
    List<String> scanned = new PartitionVerifier(plan).scannedFor(c, plan.span().last());
    PlanPrinter.summary(plan, proof, switched, scanned, nanos, progress);
    PlanPrinter.report(report, plan, proof, switched, scanned);
  }
}
