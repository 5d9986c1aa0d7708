package org.warehouse.pipelines;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.pipelines.dedupe.DedupeSql;
import org.warehouse.pipelines.dedupe.DedupeTarget;
import org.warehouse.transforms.dedupe.Candidate;
import org.warehouse.transforms.dedupe.IdChunks;
import org.warehouse.transforms.dedupe.KeyByTableShard;
import org.warehouse.transforms.dedupe.PickSurvivorsFn;
import org.warehouse.transforms.dedupe.ReadKeyCandidates;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.jdbc.WriteByCopy;

/**
 * dedupe: removes duplicate rows on a natural key while the ETL keeps writing (see docs/dedupe.md).
 *
 * <ol>
 *   <li>Per table: check columns; snapshot the id range under a brief SHARE lock; start writing the
 *       backup (every snapshot row) server-side on a side connection, alongside the pipeline.
 *   <li>Beam: read (id, latest, natural key) of every snapshot row in parallel id ranges (reduced per
 *       range in PostgreSQL by default) → Combine.perKey picks one survivor per key (latest wins, ties →
 *       highest id) → survivor ids grouped per table shard → COPY into a work table.
 *   <li>Per table, ONE transaction: under a short ACCESS EXCLUSIVE lock, TRUNCATE and re-insert the
 *       survivors plus the reconciled rows inserted since the snapshot (DELETE of the duplicates under
 *       SHARE ROW EXCLUSIVE for FK-referenced or triggered tables), add the UNIQUE constraint,
 *       validate, ANALYZE.
 * </ol>
 */
public final class DedupePipeline {
  /** Options of {@code scripts/run dedupe}. */
  public interface DedupeOptions extends WarehouseOptions {
    @Description("Config file listing the tables and natural keys (format: docs/dedupe.md; e.g. config/dedupe-breezeway.conf)")
    String getConfig();

    void setConfig(String value);

    @Description("One table to deduplicate ([schema.]table), instead of --config; needs --naturalKey")
    String getTable();

    void setTable(String value);

    @Description("Natural key columns of --table, comma-separated (e.g. property_pk,photo_id)")
    String getNaturalKey();

    void setNaturalKey(String value);

    @Description("Survivor rule column of --table: the row with the greatest value wins, ties -> highest id")
    @Default.String(DedupeTarget.DEFAULT_LATEST)
    String getLatest();

    void setLatest(String value);

    @Description("Only report rows, distinct keys, duplicates, NULL-key rows and reclaimable size; change nothing")
    @Default.Boolean(false)
    boolean getDryRun();

    void setDryRun(boolean value);

    @Description("Restore the rows an earlier run removed and drop the constraint it added (same table selection)")
    @Default.Boolean(false)
    boolean getRollback();

    void setRollback(boolean value);

    @Description("After dedupe, VACUUM FULL each changed table to return the space (takes an exclusive lock while it runs)")
    @Default.Boolean(false)
    boolean getVacuumFull();

    void setVacuumFull(boolean value);

    @Description("Reduce each id range to one row per key in PostgreSQL before the pipeline combines the ranges "
        + "(same survivors, far fewer rows moved); false = read every row into the pipeline")
    @Default.Boolean(true)
    boolean getPartialInDatabase();

    void setPartialInDatabase(boolean value);

    @Description("Number of id ranges read in parallel per table (0 = 4 x cores)")
    @Default.Integer(0)
    int getPartitions();

    void setPartitions(int value);

    @Description("Seconds to wait for the table locks (snapshot, final step, rollback)")
    @Default.Integer(60)
    int getLockTimeoutSeconds();

    void setLockTimeoutSeconds(int value);
  }

  private DedupePipeline() {}

  public static PipelineResult run(DedupeOptions options) throws Exception {
    return run(options, new RunReport("dedupe"));
  }

  static List<DedupeTarget> targets(DedupeOptions o) {
    boolean hasConfig = o.getConfig() != null && !o.getConfig().isBlank();
    boolean hasTable = o.getTable() != null && !o.getTable().isBlank();
    if (hasConfig == hasTable) {
      throw new IllegalArgumentException("give either --config=FILE or --table=schema.table --naturalKey=col1,col2");
    }
    if (o.getDryRun() && o.getRollback()) {
      throw new IllegalArgumentException("--dryRun and --rollback exclude each other");
    }
    if (hasConfig) {
      return DedupeTarget.parseFile(Path.of(o.getConfig()), o.getSchema());
    }
    if (o.getNaturalKey() == null || o.getNaturalKey().isBlank()) {
      throw new IllegalArgumentException("--table needs --naturalKey=col1,col2");
    }
    return List.of(DedupeTarget.of(o.getTable(), o.getNaturalKey(), o.getLatest(), o.getSchema()));
  }

  public static PipelineResult run(DedupeOptions options, RunReport report) throws Exception {
    List<DedupeTarget> targets = targets(options);
    Progress progress = Progress.stdout();
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    long started = System.nanoTime();
    try (PipelineLock lock = PipelineLock.acquire(db, "dedupe");
        Connection c = db.connect("warehouse-dedupe")) {
      for (DedupeTarget t : targets) {
        DedupeSql.preflight(c, t);
      }
      if (options.getRollback()) {
        rollback(c, targets, options, progress, report);
        return null;
      }
      if (options.getDryRun()) {
        dryRun(c, targets, progress, report);
        return null;
      }
      PipelineResult result = dedupe(c, db, targets, options, progress, report);
      progress.say("dedupe: done in %s", Progress.seconds(System.nanoTime() - started));
      return result;
    }
  }

  /** Per-table state of a run. */
  private static final class Work {
    final DedupeTarget target;
    long minId;
    long maxId;
    boolean alreadyUnique;
    Future<Object[]> before;
    volatile long copyNanos;
    long rowsRead;
    long kept;
    long duplicates;

    Work(DedupeTarget target) {
      this.target = target;
    }
  }

  private static PipelineResult dedupe(Connection c, JdbcConfig db, List<DedupeTarget> targets, DedupeOptions options,
      Progress progress, RunReport report) throws Exception {
    List<Work> work = new ArrayList<>();
    List<Work> toRead = new ArrayList<>();
    for (DedupeTarget t : targets) {
      Work w = new Work(t);
      w.alreadyUnique = DedupeSql.constraintExists(c, t.table(), t.constraintName());
      if (!w.alreadyUnique && Db.tableExists(c, t.backupTable())) {
        throw new WarehouseException("table " + t.table() + ": backup " + t.backupTable() + " of an earlier run exists "
            + "but the constraint " + t.constraintName() + " does not: run dedupe --rollback first, or drop the backup");
      }
      work.add(w);
      if (!w.alreadyUnique) {
        DedupeSql.refuseChangingReferences(c, t);
        toRead.add(w);
      }
    }
    // Backups (every snapshot row) are written server-side on side connections while the pipeline
    // runs: they do not depend on the survivors, and snapshot rows do not change (the ETL only inserts).
    int sideThreads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    ExecutorService side = Executors.newFixedThreadPool(sideThreads);
    PipelineResult result = null;
    try {
      for (Work w : toRead) {
        long[] range = DedupeSql.snapshot(c, w.target.table(), options.getLockTimeoutSeconds());
        w.minId = range[0];
        w.maxId = range[1];
        Db.dropIfExists(c, w.target.keepTable());
        Db.dropIfExists(c, w.target.backupWorkTable());
        Db.execute(c, "CREATE UNLOGGED TABLE " + w.target.keepTable().quoted() + " (id bigint NOT NULL)");
      }
      List<Work> bySize = new ArrayList<>(toRead);
      bySize.sort((a, b) -> Long.compare(b.maxId - b.minId, a.maxId - a.minId));
      for (Work w : bySize) {
        TableRefHolder h = new TableRefHolder(w);
        w.before = side.submit(() -> {
          long c0 = System.nanoTime();
          try (Connection sc = db.connect("warehouse-dedupe-backup")) {
            return DedupeSql.copySnapshot(sc, h.w.target, h.w.maxId);
          } finally {
            h.w.copyNanos = System.nanoTime() - c0;
          }
        });
      }
      progress.say("dedupe: %d table(s); %d to read, %d already unique", work.size(), toRead.size(),
          work.size() - toRead.size());
      List<Work> nonEmpty = new ArrayList<>();
      for (Work w : toRead) {
        if (w.maxId > 0) {
          nonEmpty.add(w);
        }
      }
      if (!nonEmpty.isEmpty()) {
        long t0 = System.nanoTime();
        result = runPipeline(options, db, nonEmpty);
        progress.say("dedupe: pipeline picked the survivors in %s", Progress.seconds(System.nanoTime() - t0));
        report.countersFrom(result);
        for (Work w : nonEmpty) {
          String ns = "dedupe." + w.target.table();
          w.rowsRead = counter(result, ns, "rowsRead");
          w.kept = counter(result, ns, "kept");
          w.duplicates = counter(result, ns, "duplicates");
        }
      }
      int i = 0;
      long totalRemoved = 0;
      List<String[]> summary = new ArrayList<>();
      for (Work w : work) {
        i++;
        DedupeTarget t = w.target;
        if (w.alreadyUnique) {
          long rows = Db.countRows(c, t.table());
          progress.step(i, work.size(), "%s: %s rows / 0 duplicates / %s kept — constraint %s present, unchanged",
              t.table(), Progress.rows(rows), Progress.rows(rows), t.constraintName());
          report.table(t.table().toString(), rows, "unchanged");
          summary.add(new String[] {t.table().toString(), Progress.rows(rows), "0", Progress.rows(rows), "-", "unchanged"});
          continue;
        }
        long t0 = System.nanoTime();
        Object[] before = backupOf(w);
        long snapshotRows = (Long) before[0];
        if (w.rowsRead != snapshotRows) {
          throw new WarehouseException("table " + t.table() + ": the pipeline read " + w.rowsRead + " rows but "
              + snapshotRows + " rows have id <= " + w.maxId + " (rows changed during the run?); nothing changed, re-run");
        }
        long keepRows = Db.countRows(c, t.keepTable());
        if (keepRows != w.kept) {
          throw new WarehouseException("table " + t.table() + ": " + keepRows + " survivor ids written, expected "
              + w.kept + "; nothing changed, re-run");
        }
        Db.execute(c, "ALTER TABLE " + t.keepTable().quoted() + " ADD PRIMARY KEY (id)");
        Db.execute(c, "ANALYZE " + t.keepTable().quoted());
        DedupeSql.Outcome o = DedupeSql.finish(c, t, w.maxId, snapshotRows, (BigDecimal) before[1],
            options.getLockTimeoutSeconds());
        Db.dropIfExists(c, t.keepTable());
        if (options.getVacuumFull()) {
          Db.execute(c, "VACUUM FULL " + t.table().quoted());
        }
        long removed = o.removedSnapshot + o.removedInserted;
        totalRemoved += removed;
        progress.step(i, work.size(), "%s: %s rows read / %s duplicates / %s kept; %s inserted during the run "
                + "(%s of them duplicates); constraint %s %s",
            t.table(), Progress.rows(w.rowsRead), Progress.rows(w.duplicates), Progress.rows(w.kept),
            Progress.rows(o.insertedDuringRun), Progress.rows(o.removedInserted), t.constraintName(),
            o.constraintAdded ? "added" : "present");
        progress.say("      backup copy + checksum %s (alongside the pipeline); final step %s (incl. waiting for the copy): "
            + "%s, %s lock held %s ms", Progress.seconds(w.copyNanos), Progress.seconds(System.nanoTime() - t0), o.truncated
                ? "TRUNCATE + re-insert" : "DELETE (" + o.blocker + ")", o.lockMode, o.lockHeldNanos / 1_000_000);
        String action = removed == 0 ? "no duplicates; constraint " + (o.constraintAdded ? "added" : "present")
            : "removed " + removed + " duplicate rows (backup " + t.backupTable() + ")";
        report.table(t.table().toString(), o.rowsAfter, action);
        report.detail(t.table() + ".removed", removed).detail(t.table() + ".nullKeyRows", o.nullKeyRows)
            .detail(t.table() + ".insertedDuringRun", o.insertedDuringRun)
            .detail(t.table() + ".lockHeldMillis", o.lockHeldNanos / 1_000_000)
            .detail(t.table() + ".replacedBy", o.truncated ? "truncate" : "delete");
        summary.add(new String[] {t.table().toString(), Progress.rows(snapshotRows + o.insertedDuringRun),
            Progress.rows(removed), Progress.rows(o.rowsAfter), Progress.rows(o.nullKeyRows),
            removed == 0 && !o.constraintAdded ? "unchanged" : "backup " + t.backupTable().name()});
      }
      printSummary(progress, summary, totalRemoved);
      return result;
    } finally {
      side.shutdownNow();
      try {
        side.awaitTermination(10, TimeUnit.MINUTES); // a running copy commits, then it is dropped below
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      for (Work w : toRead) {
        try {
          Db.dropIfExists(c, w.target.keepTable());
          Db.dropIfExists(c, w.target.backupWorkTable());
        } catch (Exception ignored) {
          // best effort: the next run drops leftovers
        }
      }
    }
  }

  /** {count, checksum} of the table's backup copy, waiting for it; the copy's own failure as is. */
  private static Object[] backupOf(Work w) throws Exception {
    try {
      return w.before.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Exception) {
        throw (Exception) e.getCause();
      }
      throw e;
    }
  }

  /** Effectively-final holder for the backup task. */
  private static final class TableRefHolder {
    final Work w;

    TableRefHolder(Work w) {
      this.w = w;
    }
  }

  /**
   * Natural keys are spread over ID_SHARDS (table, shard) runner keys; the survivor of each natural key
   * is picked inside its shard (PickSurvivorsFn: Candidate.survivor per natural key). A few runner
   * keys per table instead of one per natural key: the DirectRunner makes one bundle per key after a
   * Combine, and the COPY sink then writes a few chunks per table on any runner.
   */
  static final int ID_SHARDS = 4;

  static PipelineResult runPipeline(DedupeOptions options, JdbcConfig db, List<Work> work) {
    int partitions = options.getPartitions() > 0
        ? options.getPartitions()
        : Math.max(4, 4 * Runtime.getRuntime().availableProcessors());
    Pipeline p = Pipeline.create(options);
    List<String> keepTables = new ArrayList<>();
    List<String> names = new ArrayList<>();
    PCollectionList<KV<String, Candidate>> reads = PCollectionList.empty(p);
    for (int i = 0; i < work.size(); i++) {
      Work w = work.get(i);
      keepTables.add(w.target.keepTable().schema() + "." + w.target.keepTable().name());
      names.add(w.target.table().toString());
      reads = reads.and(p.apply("Read" + i + "_" + w.target.table().name(),
          new ReadKeyCandidates(db, i, w.target.table(), w.target.naturalKey(), w.target.latest(), w.minId, w.maxId,
              partitions, options.getPartialInDatabase())));
    }
    PCollection<KV<String, Long>> written = reads
        .apply("FlattenTables", Flatten.pCollections())
        .apply("KeyByTableShard", ParDo.of(new KeyByTableShard(ID_SHARDS)))
        .setCoder(KvCoder.of(VarIntCoder.of(), PickSurvivorsFn.inputCoder()))
        .apply("PickSurvivorPerKey", Combine.perKey(new PickSurvivorsFn()))
        .apply("SurvivorIdChunks", ParDo.of(new IdChunks(keepTables, names, ID_SHARDS, 100_000)))
        .apply("CopySurvivorIds", WriteByCopy.chunksTo(db));
    PipelineResult result = p.run();
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      throw new WarehouseException("the dedupe pipeline ended in state " + state + "; tables unchanged");
    }
    return result;
  }

  static long counter(PipelineResult result, String namespace, String name) {
    long sum = 0;
    for (MetricResult<Long> m : result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.named(namespace, name)).build()).getCounters()) {
      Long v;
      try {
        v = m.getCommitted();
      } catch (UnsupportedOperationException e) {
        v = m.getAttempted();
      }
      sum += v == null ? 0 : v;
    }
    return sum;
  }

  private static void printSummary(Progress progress, List<String[]> rows, long totalRemoved) {
    progress.say("");
    progress.say("dedupe summary");
    progress.say("  %-36s %14s %14s %12s %9s  %s", "table", "rows before", "removed", "rows after", "NULL-key", "result");
    for (String[] r : rows) {
      progress.say("  %-36s %14s %14s %12s %9s  %s", (Object[]) r);
    }
    progress.say("  %s duplicate rows removed; undo with the same selection and --rollback", Progress.rows(totalRemoved));
  }

  private static void rollback(Connection c, List<DedupeTarget> targets, DedupeOptions options, Progress progress,
      RunReport report) throws Exception {
    int i = 0;
    for (DedupeTarget t : targets) {
      DedupeSql.Restored r = DedupeSql.rollback(c, t, options.getLockTimeoutSeconds());
      progress.step(++i, targets.size(), "%s: %s rows restored, now %s rows; constraint %s %s; checksum verified",
          t.table(), Progress.rows(r.rowsRestored), Progress.rows(r.rowsAfter), t.constraintName(),
          r.constraintDropped ? "dropped" : "left as it was");
      report.table(t.table().toString(), r.rowsAfter, "rolled back: " + r.rowsRestored + " rows restored");
    }
  }

  private static void dryRun(Connection c, List<DedupeTarget> targets, Progress progress, RunReport report)
      throws Exception {
    int i = 0;
    Map<String, Long> totals = new LinkedHashMap<>();
    for (DedupeTarget t : targets) {
      DedupeSql.Stats s = DedupeSql.stats(c, t);
      progress.step(++i, targets.size(), "%s: %s rows / %s distinct keys / %s duplicates / %s NULL-key rows / "
              + "~%s MB reclaimable (dry run)", t.table(), Progress.rows(s.rows), Progress.rows(s.distinctKeys),
          Progress.rows(s.duplicates()), Progress.rows(s.nullKeyRows), Progress.rows(s.reclaimableBytes() >> 20));
      report.table(t.table().toString(), s.rows, "dry run: " + s.duplicates() + " duplicates");
      report.detail(t.table() + ".distinctKeys", s.distinctKeys).detail(t.table() + ".duplicates", s.duplicates())
          .detail(t.table() + ".nullKeyRows", s.nullKeyRows).detail(t.table() + ".reclaimableBytes", s.reclaimableBytes());
      totals.merge("rows", s.rows, Long::sum);
      totals.merge("duplicates", s.duplicates(), Long::sum);
      totals.merge("bytes", s.reclaimableBytes(), Long::sum);
    }
    progress.say("dedupe --dryRun: %s rows, %s duplicates, ~%s MB reclaimable; nothing changed",
        Progress.rows(totals.getOrDefault("rows", 0L)), Progress.rows(totals.getOrDefault("duplicates", 0L)),
        Progress.rows(totals.getOrDefault("bytes", 0L) >> 20));
  }
}
