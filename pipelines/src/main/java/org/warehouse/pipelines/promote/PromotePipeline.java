package org.warehouse.pipelines.promote;

import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;
import org.warehouse.pipelines.common.DryRunOptions;
import org.warehouse.pipelines.common.LockTimeoutOptions;
import org.warehouse.pipelines.common.Phases;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.ReportOptions;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.Validate;
import org.warehouse.pipelines.promote.targetdb.RunLock;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.pipelines.promote.targetdb.Targets;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.tablecopy.ReadTableRanges;

/**
 * promote: copies the dim_* and agg_* tables of a source (staging) PostgreSQL database to a target
 * (production) database, verified, and published all-or-nothing. Plan ({@link PromotePlan}: which
 * tables, and what each needs given the target) → graph ({@link org.warehouse.pipelines.promote.CopyTables})
 * → verify → publish ({@link PromoteRun}); everything said to the target goes through {@link
 * TargetDatabase}. docs/promote.md describes it.
 */
public final class PromotePipeline {
  /** Options of {@code scripts/run promote}. */
  public interface PromoteOptions extends ReportOptions, LockTimeoutOptions, DryRunOptions {
    @Description("JDBC URL of the source (staging) database, without a password")
    @Validation.Required
    String getSourceUrl();

    void setSourceUrl(String value);

    @Description("Source database user (default: $PGUSER, else postgres)")
    String getSourceUser();

    void setSourceUser(String value);

    @Description("File whose first line is the source password (default: $PGPASSWORD)")
    String getSourcePasswordFile();

    void setSourcePasswordFile(String value);

    @Description("JDBC URL of the target (production) database, without a password")
    @Validation.Required
    String getTargetUrl();

    void setTargetUrl(String value);

    @Description("Target database user (default: $PGUSER, else postgres)")
    String getTargetUser();

    void setTargetUser(String value);

    @Description("File whose first line is the target password (default: $PGPASSWORD)")
    String getTargetPasswordFile();

    void setTargetPasswordFile(String value);

    @Description("Schema of the tables, on the source and on the target")
    @Default.String("public")
    String getSchema();

    void setSchema(String value);

    @Description("Comma-separated globs of table names to promote (* and ?)")
    @Default.String("dim_*,agg_*")
    String getInclude();

    void setInclude(String value);

    @Description("Comma-separated globs of table names never to promote (our *__staging_* tables always are)")
    @Default.String("fact_*,*_backup")
    String getExclude();

    void setExclude(String value);

    @Description("How ranges are read: COPY (the source's COPY ... TO STDOUT) or JDBC (SELECT col::text via a cursor)")
    @Default.Enum("COPY")
    ReadTableRanges.Mode getReadMode();

    void setReadMode(ReadTableRanges.Mode value);

    @Description("Split tables into ctid ranges of about this many rows, read in parallel (at least 1)")
    @Default.Integer(50000)
    int getRowsPerRange();

    void setRowsPerRange(int value);
  }

  private PromotePipeline() {}

  /** Test seam: runs the whole job. Returns null when nothing needed copying (or a dry run). */
  public static PipelineResult run(PromoteOptions options) throws Exception {
    return run(options, new RunReport("promote"));
  }

  public static PipelineResult run(PromoteOptions o, RunReport report) throws Exception {
    Validate.atLeast("rowsPerRange", o.getRowsPerRange(), 1);
    LockTimeoutOptions.validate(o);
    PromotePlan.Selection selection = PromotePlan.Selection.of(o.getSchema(), o.getInclude(), o.getExclude());
    JdbcConfig source = Targets.options("source",
        () -> JdbcConfig.fromOptions(o.getSourceUrl(), o.getSourceUser(), o.getSourcePasswordFile()));
    TargetDatabase target = Targets.open(o.getTargetUrl(), o.getTargetUser(), o.getTargetPasswordFile(), "promote");
    report.target(o.getTargetUrl());
    Progress progress = Progress.stdout();
    Phases phases = new Phases("promote");
    long started = System.nanoTime();
    try (SourceSide src = SourceSide.open(source, o.getLockTimeoutSeconds(), phases);
        Connection tgt = TargetCheck.connect(target, o.getLockTimeoutSeconds());
        SqlWorkers workers = new SqlWorkers(target::connect, "warehouse-promote-verify", TargetCheck.WORKERS, phases)) {
      PromotePlan plan = selection.apply(src.catalog(selection.schema()), o.getSourceUrl());
      plan.describe().forEach(progress::say);
      String snapshot = src.exportSnapshot(plan.tables());
      Map<PromotePlan.Table, SourceSide.Read> reads = src.read(plan.tables(), target, snapshot);
      phases.lap("catalog (source + target)");
      if (o.getDryRun()) {
        PromoteSummary.printPlan(TargetCheck.decide(target, tgt, workers, reads), target, Staging.runId(), progress);
        progress.say("Dry run: nothing was changed on %s", o.getTargetUrl());
        return null;
      }
      try (RunLock lock = target.acquireRunLock("promote")) {
        List<TargetCheck.Decided> decided = TargetCheck.decide(target, tgt, workers, reads);
        phases.lap("skip-unchanged check (checksums of existing target tables)");
        TargetCheck.refuseBlocked(decided);
        PromoteRun.Outcome outcome = new PromoteRun(new PromoteRun.Context(o, src, snapshot, target, tgt, workers,
            phases, progress, report)).execute(decided, lock, Staging.runId());
        PromoteSummary.print(decided, outcome.how(), phases, started, progress, report);
        return outcome.result();
      }
    }
  }
}
