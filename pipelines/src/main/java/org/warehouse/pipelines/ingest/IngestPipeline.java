package org.warehouse.pipelines.ingest;

import java.nio.charset.Charset;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.fs.MetadataCoderV2;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.warehouse.pipelines.common.LockTimeoutOptions;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.common.Validate;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.pipelines.ingest.IngestVerify.FileOutcome;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.ingest.LoadSinascFiles;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * ingest: SINASC exports (CSV, DATASUS .dbc/.dbf) → bronze_sinasc_raw (raw fields, one partition per
 * file), fact_births (typed, silver) and ingest_rejects (every record that could not be typed, with its
 * text and reason), each file exactly once (ledger ingest_files keyed by file name, checked by SHA-256).
 * Plan ({@link IngestPlan}: load / skip / replace / refuse per file) → graph ({@link #graph}: each file
 * loaded and published in one transaction of its own by {@link LoadSinascFiles}) → verify
 * ({@link IngestVerify}) → summary ({@link IngestSummary}). docs/ingest.md tells the whole story.
 */
public final class IngestPipeline {
  private IngestPipeline() {}

  /** Options of {@code scripts/run ingest}. */
  public interface IngestOptions extends WarehouseOptions, LockTimeoutOptions {
    @Description("Files to load: a path or glob, e.g. /data/sinasc/DN*.csv (*.gz files are gunzipped)")
    @Validation.Required
    String getInput();

    void setInput(String value);

    @Description("Encoding of the files: ISO-8859-1 (DATASUS) or UTF-8; a UTF-8 BOM always means UTF-8")
    @Default.String("ISO-8859-1")
    String getEncoding();

    void setEncoding(String value);

    @Description("Reload a file whose content changed since it was loaded: its old rows are replaced atomically")
    @Default.Boolean(false)
    boolean getReplace();

    void setReplace(boolean value);

    @Description("Refuse (load nothing of) a file whose rejected lines exceed this fraction of its lines")
    @Default.Double(0.01)
    double getMaxRejectRatio();

    void setMaxRejectRatio(double value);

    @Description("Typed (silver) table the births are appended to ([schema.]table; created when missing)")
    @Default.String(FactBirths.DEFAULT_TABLE)
    String getFactTable();

    void setFactTable(String value);

    @Description("Also keep the raw fields of every line in bronze_sinasc_raw (false: silver and rejects only)")
    @Default.Boolean(true)
    boolean getBronze();

    void setBronze(boolean value);

    @Description("A CSV line longer than this many bytes is rejected, only its first KB kept in ingest_rejects")
    @Default.Integer(1 << 20)
    int getMaxLineBytes();

    void setMaxLineBytes(int value);
  }

  public static PipelineResult run(IngestOptions options) throws Exception {
    return run(options, new RunReport("ingest"));
  }

  public static PipelineResult run(IngestOptions o, RunReport report) throws Exception {
    validate(o);
    JdbcConfig db = WarehouseOptions.jdbcConfig(o);
    IngestTables tables = IngestTables.of(o.getSchema(), o.getFactTable());
    Progress progress = Progress.stdout();
    long started = System.nanoTime();
    List<IngestPlan.InputFile> inputs = IngestInputs.match(o, o.getInput());
    try (PipelineLock lock = PipelineLock.acquire(db, "ingest");
        Connection c = db.connect("warehouse-ingest")) {
      LockTimeouts.set(c, o.getLockTimeoutSeconds());
      tables.ensure(c);
      tables.dropAbandonedLoads(c, progress);
      IngestPlan plan = plan(c, tables, inputs, o.getReplace());
      IngestSummary summary = new IngestSummary(progress, report, tables, plan, started);
      summary.planned(o.getInput());
      if (plan.toRead().isEmpty()) {
        summary.nothingToLoad();
        return null;
      }
      IngestRun run = IngestRun.start(c, db, tables, report, progress, lock.forWorkers());
      try {
        long t0 = System.nanoTime();
        PipelineResult result = run.load(o, plan, summary);
        long t1 = System.nanoTime();
        Map<String, FileOutcome> outcomes = IngestVerify.verify(c, run.table(), plan);
        progress.say("ingest: hash+plan %s, parse+COPY+commit per file %s, verify %s", Progress.seconds(t0 - started),
            Progress.seconds(t1 - t0), Progress.seconds(System.nanoTime() - t1));
        report.detail("secondsParse", (t1 - t0) / 1e9).detail("bronze", o.getBronze());
        summary.files(outcomes);
        IngestSummary.requireNoneRefused(outcomes);
        return result;
      } finally {
        run.drop();
      }
    }
  }

  /** Options checked before anything happens (exit 2). */
  static void validate(IngestOptions o) {
    if (!(o.getMaxRejectRatio() >= 0 && o.getMaxRejectRatio() <= 1)) {
      throw new UsageException("--maxRejectRatio must be between 0 and 1 (got " + o.getMaxRejectRatio() + ")");
    }
    Validate.atLeast("maxLineBytes", o.getMaxLineBytes(), 1024);
    LockTimeoutOptions.validate(o);
    try {
      Charset.forName(o.getEncoding());
    } catch (RuntimeException e) {
      throw new UsageException("unknown --encoding " + o.getEncoding() + " (use ISO-8859-1 or UTF-8)");
    }
  }

  /** Ledger, hashes of the known names, new file_ids → the plan; a changed file without --replace fails. */
  static IngestPlan plan(Connection c, IngestTables tables, List<IngestPlan.InputFile> inputs, boolean replace)
      throws Exception {
    Map<String, IngestPlan.LedgerEntry> ledger = tables.ledgerEntries(c,
        inputs.stream().map(IngestPlan.InputFile::name).collect(Collectors.toList()));
    Map<String, String> hashes = IngestInputs.sha256(inputs.stream().filter(f -> ledger.containsKey(f.name()))
        .collect(Collectors.toList()));
    List<Long> ids = tables.drawFileIds(c, IngestPlan.newNames(inputs, ledger));
    IngestPlan plan = IngestPlan.of(inputs, ledger, hashes, replace, ids.iterator());
    plan.requireNoRefusal();
    return plan;
  }

  /** What each worker needs: the tables, the rules and the planned files. */
  static LoadSinascFiles.Target target(IngestOptions o, JdbcConfig db, IngestTables tables, TableRef runTable,
      IngestPlan plan, PublishGuard guard) {
    return new LoadSinascFiles.Target(db, tables.fact().quoted(), o.getBronze() ? tables.bronze() : null,
        tables.rejects().quoted(), tables.ledger().quoted(), runTable.quoted(),
        new LoadSinascFiles.Rules(Charset.forName(o.getEncoding()).name(), o.getMaxRejectRatio(), o.getMaxLineBytes(),
            o.getLockTimeoutSeconds()),
        plan.loads(), guard);
  }

  /**
   * The Beam graph: the planned paths as a Create (split across workers by the runner: on the
   * DirectRunner one file per worker thread, --targetParallelism at once; on Flink spread over the
   * slots) rather than a Reshuffle with random keys, which on Flink could put several files on one
   * worker while the other idled; then each file loaded by one {@link LoadSinascFiles} call.
   */
  public static PCollection<String> graph(Pipeline p, List<String> paths, LoadSinascFiles.Target target) {
    return p.apply("PlannedFiles", Create.of(paths))
        .apply("MatchFiles", ParDo.of(new MatchPlannedFn()))
        .setCoder(MetadataCoderV2.of())
        .apply("ReadMatches", FileIO.readMatches().withCompression(Compression.UNCOMPRESSED))
        .apply("LoadSinascFiles", LoadSinascFiles.into(target));
  }
}
