package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollectionList;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.DryRunOptions;
import org.warehouse.pipelines.common.LockTimeoutOptions;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.pipelines.dedupe.DedupePlan.TableAction;
import org.warehouse.pipelines.dedupe.DedupePlan.TablePlan;
import org.warehouse.pipelines.dedupe.DedupeVerify.PipelineCounts;
import org.warehouse.pipelines.dedupe.DedupeVerify.Verified;
import org.warehouse.transforms.dedupe.Candidate;
import org.warehouse.transforms.dedupe.IdChunks;
import org.warehouse.transforms.dedupe.KeyByTableShard;
import org.warehouse.transforms.dedupe.PickSurvivorsFn;
import org.warehouse.transforms.dedupe.ReadKeyCandidates;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WriteByCopy;

/**
 * dedupe: removes duplicate rows on a natural key while the ETL keeps writing (see docs/dedupe.md).
 * Plan ({@link DedupePlan}, from the options and the catalog) → per table a snapshot of the id range and
 * the backup copy started alongside ({@link WorkTables}) → the Beam graph ({@link #graph}) picks one
 * survivor per natural key → {@link DedupeVerify} → {@link DedupePublish}, one transaction per table.
 */
public final class DedupePipeline {
  /** Options of {@code scripts/run dedupe}. */
  public interface DedupeOptions extends WarehouseOptions, LockTimeoutOptions, DryRunOptions {
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
  }

  /**
   * Natural keys are spread over ID_SHARDS (table, shard) runner keys; the survivor of each natural key
   * is picked inside its shard (PickSurvivorsFn: Candidate.survivor per natural key). A few runner
   * keys per table instead of one per natural key: the DirectRunner makes one bundle per key after a
   * Combine, and the COPY sink then writes a few chunks per table on any runner.
   */
  static final int ID_SHARDS = 4;

  private static final String UNCHANGED = "tables unchanged";

  private DedupePipeline() {}

  public static PipelineResult run(DedupeOptions options) throws Exception {
    return run(options, new RunReport("dedupe"));
  }

  public static PipelineResult run(DedupeOptions options, RunReport report) throws Exception {
    List<DedupeTarget> targets = DedupePlan.targets(options);
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    Progress progress = Progress.stdout();
    long started = System.nanoTime();
    try (PipelineLock lock = PipelineLock.acquire(db, "dedupe");
        Connection c = db.connect("warehouse-dedupe")) {
      DedupePlan plan = DedupePlan.of(options, targets, DedupeCatalog.read(c, targets),
          Runtime.getRuntime().availableProcessors(), Staging.runId());
      if (plan.mode() == DedupePlan.Mode.ROLLBACK) {
        DedupeRollback.run(c, lock, plan, progress, report);
        return null;
      }
      if (plan.mode() == DedupePlan.Mode.DRY_RUN) {
        DedupeDryRun.run(c, plan, progress, report);
        return null;
      }
      WorkTables.dropLeftovers(c, plan, progress);
      PipelineResult result;
      try (WorkTables work = WorkTables.open(db, report)) {
        List<Snapshot> snapshots = work.snapshots(c, plan);
        progress.say("dedupe: %d table(s); %d to read, %d already unique", plan.tables().size(), snapshots.size(),
            plan.tables().size() - snapshots.size());
        Map<TableRef, Verified> verified;
        try (ReadSnapshot read = ReadSnapshot.export(db, snapshots, plan.lockTimeoutSeconds())) {
          work.startBackups(snapshots, read.id());
          result = pickSurvivors(options, db, plan, snapshots, read.id(), progress, report);
          verified = verifyAll(c, snapshots, result, work);
        }
        publishAll(c, lock, plan, verified, new DedupeOutput(progress, report, plan.tables().size()));
      }
      progress.say("dedupe: done in %s", Progress.seconds(System.nanoTime() - started));
      return result;
    }
  }

  /** Runs the graph over the non-empty tables; null when there is nothing to read. */
  private static PipelineResult pickSurvivors(DedupeOptions options, JdbcConfig db, DedupePlan plan,
      List<Snapshot> snapshots, String readSnapshot, Progress progress, RunReport report) {
    List<Snapshot> nonEmpty = snapshots.stream().filter(s -> !s.empty()).toList();
    if (nonEmpty.isEmpty()) {
      return null;
    }
    long started = System.nanoTime();
    Pipeline p = Pipeline.create(options);
    graph(p, db, plan, nonEmpty, readSnapshot);
    PipelineResult result;
    try {
      result = BeamRun.run(p, report, UNCHANGED);
    } catch (RuntimeException e) {
      if (ConnectionLoss.isConnectionLoss(e)) {
        throw ConnectionLoss.explain(e, "the pipeline read the tables (" + UNCHANGED + ")");
      }
      throw e;
    }
    progress.say("dedupe: pipeline picked the survivors in %s", Progress.seconds(System.nanoTime() - started));
    report.countersFrom(result);
    return result;
  }

  /**
   * The Beam graph: per table, its id ranges read in parallel in the exported snapshot {@code
   * readSnapshot} (reduced per range in PostgreSQL by default) → flattened → keyed by (table, shard) → one survivor per natural key → survivor ids COPYed
   * in chunks into each table's keep table.
   */
  static void graph(Pipeline p, JdbcConfig db, DedupePlan plan, List<Snapshot> reads, String readSnapshot) {
    List<String> keepTables = new ArrayList<>();
    List<String> names = new ArrayList<>();
    PCollectionList<KV<String, Candidate>> candidates = PCollectionList.empty(p);
    for (int i = 0; i < reads.size(); i++) {
      Snapshot s = reads.get(i);
      DedupeTarget t = s.table().target();
      keepTables.add(s.table().keepTable().schema() + "." + s.table().keepTable().name());
      names.add(t.table().toString());
      candidates = candidates.and(p.apply("Read" + i + "_" + t.table().name(),
          new ReadKeyCandidates(db, i, t.table(), t.naturalKey(), t.latest(), s.minId(), s.maxId(),
              plan.partitions(), plan.partialInDatabase()).inSnapshot(readSnapshot)));
    }
    candidates
        .apply("FlattenTables", Flatten.pCollections())
        .apply("KeyByTableShard", ParDo.of(new KeyByTableShard(ID_SHARDS)))
        .setCoder(KvCoder.of(VarIntCoder.of(), PickSurvivorsFn.inputCoder()))
        .apply("PickSurvivorPerKey", Combine.perKey(new PickSurvivorsFn()))
        .apply("SurvivorIdChunks", ParDo.of(new IdChunks(keepTables, names, ID_SHARDS, 100_000)))
        .apply("CopySurvivorIds", WriteByCopy.chunksTo(db));
  }

  /** Every read table verified (waiting for its backup copy) before anything is published. */
  private static Map<TableRef, Verified> verifyAll(Connection c, List<Snapshot> snapshots, PipelineResult result,
      WorkTables work) throws Exception {
    Map<TableRef, Verified> verified = new LinkedHashMap<>();
    for (Snapshot s : snapshots) {
      PipelineCounts counts = s.empty() ? PipelineCounts.NONE : PipelineCounts.of(result, s.table().table());
      verified.put(s.table().table(), DedupeVerify.verify(c, s, counts, work.backup(s.table())));
    }
    return verified;
  }

  /**
   * One transaction per table, one after the other. If one fails, the tables before it stay deduplicated
   * (each completely; --rollback undoes them) and the output says which.
   */
  private static void publishAll(Connection c, PipelineLock lock, DedupePlan plan, Map<TableRef, Verified> verified,
      DedupeOutput out) throws Exception {
    List<String> published = new ArrayList<>();
    for (TablePlan t : plan.tables()) {
      if (t.action() == TableAction.ALREADY_UNIQUE) {
        out.unchanged(t.target(), Db.countRows(c, t.table()));
        continue;
      }
      long started = System.nanoTime();
      Verified v = verified.get(t.table());
      DedupePublish.Outcome o;
      try {
        o = DedupePublish.publish(c, lock, v, plan.lockTimeoutSeconds());
      } catch (Exception e) {
        out.failedAfter(published);
        throw e;
      }
      published.add(t.table().toString());
      if (plan.vacuumFull()) {
        Db.execute(c, "VACUUM FULL " + t.table().quoted());
      }
      out.published(v, o, System.nanoTime() - started);
    }
    out.summary();
  }
}
