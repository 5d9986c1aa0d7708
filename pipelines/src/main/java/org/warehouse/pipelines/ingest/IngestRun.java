package org.warehouse.pipelines.ingest;

import java.sql.Connection;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.ingest.IngestPipeline.IngestOptions;
import org.warehouse.pipelines.ingest.IngestVerify.FileOutcome;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * One run's loading: its run table (named per run), the Beam pipeline that loads and publishes each
 * planned file, and what a failure says — which files committed before it (they stay loaded).
 */
final class IngestRun {
  private final JdbcConfig db;
  private final IngestTables tables;
  private final TableRef table;

  private IngestRun(JdbcConfig db, IngestTables tables, TableRef table) {
    this.db = db;
    this.tables = tables;
    this.table = table;
  }

  /** Drops a dead run's run tables (saying so) and creates this run's. */
  static IngestRun start(Connection c, JdbcConfig db, IngestTables tables, RunReport report, Progress progress)
      throws Exception {
    TableRef table = TableRef.of(tables.ledger().schema(), "ingest_stage_files");
    Db.dropIfExists(c, table);
    IngestVerify.createRunTable(c, table);
    return new IngestRun(db, tables, table);
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
        IngestPipeline.target(o, db, tables, table, plan));
    try {
      PipelineResult result = p.run();
      PipelineResult.State state = result.waitUntilFinish();
      if (state != PipelineResult.State.DONE) {
        throw new WarehouseException("the ingest pipeline ended in state " + state);
      }
      return result;
    } catch (RuntimeException e) {
      Throwable cause = e instanceof Pipeline.PipelineExecutionException && e.getCause() != null ? e.getCause() : e;
      throw new WarehouseException(firstLine(cause) + "; " + summary.committedBeforeFailure(committed()), cause);
    }
  }

  /** The files whose transaction committed in this run, from the run table. */
  private List<FileOutcome> committed() {
    try (Connection c = db.connect("warehouse-ingest-failure")) {
      return IngestVerify.outcomes(c, table).stream().filter(FileOutcome::committed).collect(Collectors.toList());
    } catch (Exception e) {
      throw new WarehouseException("the run failed and which files it committed cannot be read (" + firstLine(e)
          + "): see " + tables.ledger(), e);
    }
  }

  private static String firstLine(Throwable e) {
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  /** Drops the run table (best effort: the next run drops what is left). */
  void drop() {
    try (Connection c = db.connect("warehouse-ingest-cleanup")) {
      Db.dropIfExists(c, table);
    } catch (Exception e) {
      System.out.println("ingest: could not drop " + table + ": " + firstLine(e) + "; the next run drops it");
    }
  }
}
