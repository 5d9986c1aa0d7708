package org.warehouse.pipelines.promote;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.Phases;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.promote.PromotePipeline.PromoteOptions;
import org.warehouse.pipelines.promote.targetdb.RunLock;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.tablecopy.TableChecksum;
import org.warehouse.transforms.tablecopy.TableRange;

/**
 * The part of a run that changes the target, with the run lock held: drop a dead run's staging
 * tables, create this run's, copy (the Beam graph), verify, publish. Any failure drops this run's
 * staging tables on a fresh connection and leaves production as it was.
 */
public final class PromoteRun {
  /** The copy's Beam result (null when nothing needed copying) and how each copied table was published. */
  public record Outcome(PipelineResult result, List<String> how) {}

  /** Where a run reads from and writes to, and what it reports on. */
  public record Context(PromoteOptions options, SourceSide source, String snapshot, TargetDatabase target,
      Connection tgt, SqlWorkers workers, Phases phases, Progress progress, RunReport report) {}

  private final Context ctx;

  public PromoteRun(Context context) {
    this.ctx = context;
  }

  /** Copies, verifies and publishes every table {@code decided} to copy, as run {@code runId}. */
  public Outcome execute(List<TargetCheck.Decided> decided, RunLock lock, String runId) throws Exception {
    dropLeftovers(decided);
    List<PromotePlan.Copy> copies = new ArrayList<>();
    Map<PromotePlan.Table, CompletableFuture<TableChecksum>> sourceSums = new LinkedHashMap<>();
    for (TargetCheck.Decided d : decided) {
      if (d.action().copies()) {
        TableRef name = ctx.target().stagingName(d.table().target(), runId);
        copies.add(new PromotePlan.Copy(d.table(), d.definition(), name));
        sourceSums.put(d.table(), d.source().checksum());
      }
    }
    if (copies.isEmpty()) {
      return new Outcome(null, List.of());
    }
    List<TableRef> staging = copies.stream().map(PromotePlan.Copy::staging).toList();
    ctx.report().onCancel("drop staging", () -> ctx.target().dropQuietly(staging));
    String step = "creating the staging tables";
    try {
      createStaging(copies);
      step = "copying the tables";
      PipelineResult result = copy(copies);
      step = "verifying the copies";
      PromoteVerify.run(ctx.target(), ctx.tgt(), ctx.workers(), copies, sourceSums);
      ctx.phases().lap("verify + indexes + analyze (parallel)");
      ctx.progress().say("Verified %d tables: row counts and checksums equal on source and target", copies.size());
      step = "publishing";
      List<String> how = PromotePublish.publish(ctx.target(), ctx.tgt(), copies,
          ctx.options().getLockTimeoutSeconds(), lock);
      ctx.phases().lap("publish (one transaction)");
      return new Outcome(result, how);
    } catch (Exception e) {
      ctx.target().dropQuietly(staging);
      throw PromotePublish.explain(e, step, lock, ctx.tgt(), ctx.source());
    } catch (Error e) {
      ctx.target().dropQuietly(staging);
      throw e;
    }
  }

  /** Staging tables of runs that did not finish (their lock is gone, so they are dead), dropped with a line each. */
  private void dropLeftovers(List<TargetCheck.Decided> decided) throws Exception {
    for (TargetCheck.Decided d : decided) {
      List<TableRef> left = ctx.target().leftovers(ctx.tgt(), d.table().target());
      if (!left.isEmpty()) {
        ctx.target().dropLeftovers(ctx.tgt(), left, ctx.progress());
      }
    }
  }

  /**
   * The schema, then every staging table at once on the worker connections (not one after the other on
   * the run's own); returns once every creation has ended, so a failure is thrown only when no creation
   * is still running that the clean-up would miss.
   */
  private void createStaging(List<PromotePlan.Copy> copies) throws Exception {
    for (String ddl : ctx.target().createSchemaSql(copies.get(0).table().target().schema())) {
      Db.execute(ctx.tgt(), ddl);
    }
    List<CompletableFuture<Void>> created = new ArrayList<>();
    for (PromotePlan.Copy c : copies) {
      List<String> ddls = ctx.target().createTableSql(c.definition(), c.staging());
      created.add(ctx.workers().submit("staging DDL", conn -> {
        for (String ddl : ddls) {
          Db.execute(conn, ddl);
        }
        return null;
      }));
    }
    CompletableFuture.allOf(created.toArray(CompletableFuture[]::new)).exceptionally(failed -> null).join();
    for (CompletableFuture<Void> f : created) {
      SqlWorkers.join(f);
    }
    ctx.phases().lap("staging DDL");
  }

  /** Builds and runs the Beam graph that fills the staging tables. */
  private PipelineResult copy(List<PromotePlan.Copy> copies) {
    PromoteOptions o = ctx.options();
    List<TableRange> ranges = PromotePlan.ranges(copies, o.getReadMode(), o.getRowsPerRange());
    long rows = copies.stream().mapToLong(c -> c.table().estimatedRows()).sum();
    ctx.progress().say("Copying %d tables (~%s rows, %d ranges) in one pipeline...", copies.size(),
        Progress.rows(rows), ranges.size());
    long t0 = System.nanoTime();
    Pipeline p = Pipeline.create(o);
    CopyTables.build(p, ranges, ctx.source().config(), o.getReadMode(), ctx.snapshot(), ctx.target().loader());
    ctx.phases().lap("pipeline build");
    PipelineResult result = BeamRun.run(p, ctx.report(), "production unchanged");
    ctx.phases().lap("copy (runner start + read + COPY)");
    ctx.report().countersFrom(result);
    ctx.progress().say("Copied in %s; verifying and adding indexes...", Progress.seconds(System.nanoTime() - t0));
    return result;
  }
}
