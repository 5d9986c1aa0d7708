package org.warehouse.pipelines.ingest;

import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.Launch;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.ingest.IngestPipeline.IngestOptions;
import org.warehouse.pipelines.ingest.IngestVerify.FileOutcome;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * One run's loading: its run table (named per run, {@code ingest_files__run_<runId>}), the Beam pipeline
 * that loads and publishes each planned file, and what a failure says — which files committed before
 * it (they stay loaded).
 */
final class IngestRun {
  static final String PIPELINE = "ingest";
  /** Staging kind of the run table. */
  static final String RUN_TABLE = "run";
  /** How long a failed run waits for a restarting server to read which files it committed. */
  static final Duration SERVER_BACK_WITHIN = Duration.ofSeconds(30);
  private static final String UNCHANGED = "files committed before the failure stay loaded (see ingest_files), "
      + "the others were rolled back: re-run";

  private final JdbcConfig db;
  private final IngestTables tables;
  private final TableRef table;
  private final RunReport report;
  private final PublishGuard guard;

  private IngestRun(JdbcConfig db, IngestTables tables, TableRef table, RunReport report, PublishGuard guard) {
    this.db = db;
    this.tables = tables;
    this.table = table;
    this.report = report;
    this.guard = guard;
  }

  /**
   * Drops a dead run's run tables (one line each; the caller holds the run lock) and creates this
   * run's; a signal drops it too. {@code guard}: serializable, checked before each file's COMMIT.
   */
  static IngestRun start(Connection c, JdbcConfig db, IngestTables tables, RunReport report, Progress progress,
      PublishGuard guard) throws Exception {
    Staging.dropLeftovers(c, Staging.leftovers(c, tables.ledger(), RUN_TABLE), progress, PIPELINE);
    TableRef table = Staging.name(tables.ledger(), RUN_TABLE, Staging.runId());
    report.onCancel("drop " + table, () -> Staging.dropQuietly(db, PIPELINE, List.of(table)));
    IngestVerify.createRunTable(c, table);
    return new IngestRun(db, tables, table, report, guard);
  }

  TableRef table() {
    return table;
  }

  /**
   * Runs the pipeline to its end. On a failure, lists (output, report and the error line) the files
   * that committed before it, read on a fresh connection (the run's own may be what failed).
   */
  PipelineResult load(IngestOptions o, IngestPlan plan, IngestSummary summary) throws Exception {
    Pipeline p = Pipeline.create(o);
    IngestPipeline.graph(p, plan.toRead().stream().map(f -> f.file().path()).collect(Collectors.toList()),
        IngestPipeline.target(o, db, tables, table, plan, guard));
    try {
      return BeamRun.run(p, report, UNCHANGED);
    } catch (RuntimeException e) {
      Throwable cause = e instanceof Pipeline.PipelineExecutionException && e.getCause() != null ? e.getCause() : e;
      String why = ConnectionLoss.isConnectionLoss(cause)
          ? ConnectionLoss.explain(cause, "a file was loading; its transaction rolled back").getMessage()
          : Launch.cause(cause);
      throw new WarehouseException(why + "; " + summary.committedBeforeFailure(committed()), cause);
    }
  }

  /**
   * The files whose transaction committed in this run, from the run table; when the failure was the
   * server going away (a restart), once it answers again, within {@link #SERVER_BACK_WITHIN}.
   */
  private List<FileOutcome> committed() {
    try {
      return whenTheServerAnswers(SERVER_BACK_WITHIN, Duration.ofMillis(500), () -> {
        try (Connection c = db.connect("warehouse-ingest-failure")) {
          return IngestVerify.outcomes(c, table).stream().filter(FileOutcome::committed).collect(Collectors.toList());
        }
      });
    } catch (Exception e) {
      throw new WarehouseException("the run failed, and which files it committed cannot be read ("
          + Launch.cause(e) + "): see " + tables.ledger(), e);
    }
  }

  /** A read of the database. */
  @FunctionalInterface
  interface Read<T> {
    T run() throws Exception;
  }

  /**
   * {@code read}, tried again every {@code pause} while it fails because the server is gone or not back
   * yet (connection refused, "the database system is starting up"), for at most {@code patience}; any
   * other failure is thrown at once.
   */
  static <T> T whenTheServerAnswers(Duration patience, Duration pause, Read<T> read) throws Exception {
    long deadline = System.nanoTime() + patience.toNanos();
    while (true) {
      try {
        return read.run();
      } catch (Exception e) {
        if (!ConnectionLoss.isConnectionLoss(e) || System.nanoTime() + pause.toNanos() > deadline) {
          throw e;
        }
        Thread.sleep(pause.toMillis());
      }
    }
  }

  /** Drops the run table on a fresh connection (best effort: the next run drops what is left). */
  void drop() {
    Staging.dropQuietly(db, PIPELINE, List.of(table));
  }
}
