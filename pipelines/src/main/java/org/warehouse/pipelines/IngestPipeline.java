package org.warehouse.pipelines;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.MetadataCoderV2;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.ingest.LoadSinascFiles;
import org.warehouse.transforms.ingest.SinascLineParser;

import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * ingest: SINASC CSV exports → bronze_sinasc_raw (raw fields by file_id and line, one partition per
 * file; the view bronze_sinasc adds the file name), fact_births (typed, silver) and ingest_rejects (every line that
 * could not be typed, with its text and reason), each file exactly once (ledger ingest_files keyed by
 * file name, checked by SHA-256).
 *
 * <ol>
 *   <li>Driver: match the glob, hash the files whose name the ledger knows and compare: unchanged →
 *       skipped; changed → error unless {@code --replace}; a new name gets a file_id (its worker
 *       hashes it while reading it and records that hash).
 *   <li>Beam: each file is parsed in one DoFn call (files in parallel; {@link SinascLineParser}: a
 *       hand split for plain lines, Commons CSV for the others and for every reason) and loaded by
 *       that worker in ONE transaction per file ({@link LoadSinascFiles}): (for --replace) delete the
 *       file's old rows, COPY typed rows into the fact table and dead letters into rejects while
 *       reading (the raw fields at the same time, on a second connection, into the table that becomes
 *       the file's bronze partition), check the reject ratio at the end, then attach the bronze
 *       partition, insert the ledger row and COMMIT
 *       — or ROLLBACK when the file is over {@code --maxRejectRatio} or has a file-level error. A
 *       worker killed mid-file leaves nothing of that file. Each file writes a summary row into an
 *       UNLOGGED table {@code ingest_stage_files}.
 *   <li>Verify per file: one summary, loaded + rejected = lines read; refused files → exit 1 naming them.
 * </ol>
 *
 * <p>birth_id = file_id × 10^9 + line number (line 1 is the header), so a file's rows keep their ids
 * across re-runs and {@code --replace}, and ids never collide with {@code generate}'s 1..N.
 */
public final class IngestPipeline {
  static final String BRONZE = "bronze_sinasc_raw";
  /** bronze with each row's file name (from the ledger). */
  static final String BRONZE_VIEW = "bronze_sinasc";
  static final String REJECTS = "ingest_rejects";
  static final String LEDGER = "ingest_files";
  static final String FILE_ID_SEQUENCE = "ingest_file_id_seq";
  static final long ID_BASE = LoadSinascFiles.ID_BASE;


  /** Options of {@code scripts/run ingest}. */
  public interface IngestOptions extends WarehouseOptions {
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
  }

  private IngestPipeline() {}

  /** One input file and what this run does with it. */
  static final class FilePlan {
    final String path;
    final String name;
    final long bytes;
    String sha256;
    long fileId;
    String action; // new, replace, skip
    String previousLoad;
    long lines;
    long loaded;
    long rejected;
    String refusal;

    FilePlan(String path, String name, long bytes) {
      this.path = path;
      this.name = name;
      this.bytes = bytes;
    }
  }

  public static PipelineResult run(IngestOptions options) throws Exception {
    return run(options, new RunReport("ingest"));
  }

  public static PipelineResult run(IngestOptions o, RunReport report) throws Exception {
    if (o.getMaxRejectRatio() < 0 || o.getMaxRejectRatio() > 1) {
      throw new IllegalArgumentException("--maxRejectRatio must be between 0 and 1");
    }
    try {
      Charset.forName(o.getEncoding());
    } catch (Exception e) {
      throw new IllegalArgumentException("unknown --encoding " + o.getEncoding() + " (use ISO-8859-1 or UTF-8)");
    }
    Progress progress = Progress.stdout();
    JdbcConfig db = WarehouseOptions.jdbcConfig(o);
    String schema = o.getSchema();
    TableRef fact = TableRef.parse(o.getFactTable(), schema);
    TableRef bronze = TableRef.of(schema, BRONZE);
    TableRef rejects = TableRef.of(schema, REJECTS);
    TableRef ledger = TableRef.of(schema, LEDGER);
    Staging stage = new Staging(schema);
    long started = System.nanoTime();

    List<FilePlan> files = match(o);
    try (PipelineLock lock = PipelineLock.acquire(db, "ingest");
        Connection c = db.connect("warehouse-ingest")) {
      ensureTables(c, fact, bronze, rejects, ledger, schema);
      dropAbandonedBronzeLoads(c, schema);
      hashKnown(c, files, ledger);
      plan(c, files, ledger, o.getReplace(), schema);
      List<FilePlan> todo = files.stream().filter(f -> !f.action.equals("skip")).collect(Collectors.toList());
      progress.say("ingest: %d file(s) match %s: %d new, %d to replace, %d already loaded (skipped)", files.size(),
          o.getInput(), count(files, "new"), count(files, "replace"), count(files, "skip"));
      if (todo.isEmpty()) {
        int i = 0;
        for (FilePlan f : files) {
          progress.step(++i, files.size(), "%-28s already loaded %s (same sha256): skipped", f.name, f.previousLoad);
        }
        progress.say("ingest: nothing to load: every file was already loaded; tables unchanged");
        report.detail("filesSkipped", files.size()).detail("filesLoaded", 0);
        return null;
      }
      stage.create(c);
      PipelineResult result;
      try {
        long t0 = System.nanoTime();
        result = runPipeline(o, db, stage, todo, fact, o.getBronze() ? bronze : null, rejects, ledger);
        report.countersFrom(result);
        long t1 = System.nanoTime();
        verify(c, stage, todo);
        long t2 = System.nanoTime();
        progress.say("ingest: hash+plan %s, parse+COPY+commit per file %s, verify %s",
            Progress.seconds(t0 - started), Progress.seconds(t1 - t0), Progress.seconds(t2 - t1));
        report.detail("secondsParse", (t1 - t0) / 1e9).detail("bronze", o.getBronze());
      } finally {
        stage.dropQuietly(c);
      }
      summarize(progress, report, files, fact, bronze, rejects, started);
      List<FilePlan> refused = todo.stream().filter(f -> f.refusal != null).collect(Collectors.toList());
      if (!refused.isEmpty()) {
        throw new WarehouseException(refused.size() + " file(s) refused, none of their rows loaded: "
            + refused.stream().map(f -> f.name + " (" + f.refusal + ")").collect(Collectors.joining("; "))
            + "; fix the files (or raise --maxRejectRatio) and re-run");
      }
      return result;
    }
  }

  private static long count(List<FilePlan> files, String action) {
    return files.stream().filter(f -> f.action.equals(action)).count();
  }

  /** Expands the glob: the files, by name. */
  static List<FilePlan> match(IngestOptions o) throws Exception {
    FileSystems.setDefaultPipelineOptions(o);
    MatchResult m = FileSystems.match(o.getInput(), EmptyMatchTreatment.ALLOW);
    List<FilePlan> files = new ArrayList<>();
    Map<String, String> seen = new HashMap<>();
    if (m.status() == MatchResult.Status.OK) {
      for (MatchResult.Metadata md : m.metadata()) {
        if (md.resourceId().isDirectory()) {
          continue;
        }
        String path = md.resourceId().toString();
        String name = LoadSinascFiles.fileName(path);
        String other = seen.put(name, path);
        if (other != null) {
          throw new WarehouseException("two input files share the name " + name + " (" + other + ", " + path
              + "): the ledger knows files by name; rename one");
        }
        files.add(new FilePlan(path, name, md.sizeBytes()));
      }
    }
    if (files.isEmpty()) {
      String in = o.getInput();
      boolean directory = !in.contains("*") && !in.contains("?") && Files.isDirectory(Path.of(in));
      throw new WarehouseException("no file matches --input=" + in + (directory
          ? ": it is a directory; give a glob of its files, e.g. --input='" + in.replaceAll("/+$", "") + "/*.csv*'"
          : ": check the path or glob"));
    }
    files.sort((a, b) -> a.name.compareTo(b.name));
    return files;
  }

  /**
   * Hashes (in parallel) the files whose name the ledger knows: skip, replace or conflict depends on
   * it. A new file is not hashed here: its worker hashes the very bytes it parses, in the same pass,
   * and records that hash in the ledger (one read of the file instead of two).
   */
  static void hashKnown(Connection c, List<FilePlan> files, TableRef ledger) throws SQLException {
    Set<String> known = new HashSet<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT file_name FROM " + ledger.quoted()
        + " WHERE file_name = ANY (?)")) {
      ps.setArray(1, c.createArrayOf("text", files.stream().map(f -> f.name).toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          known.add(rs.getString(1));
        }
      }
    }
    files.stream().filter(f -> known.contains(f.name)).collect(Collectors.toList()).parallelStream().forEach(f -> {
      try {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[1 << 16];
        try (InputStream in = Channels.newInputStream(
            FileSystems.open(FileSystems.matchNewResource(f.path, false)))) {
          int n;
          while ((n = in.read(buf)) >= 0) {
            md.update(buf, 0, n);
          }
        }
        f.sha256 = HexFormat.of().formatHex(md.digest());
      } catch (Exception e) {
        throw new WarehouseException("cannot read " + f.path + ": " + e.getMessage(), e);
      }
    });
  }

  static void ensureTables(Connection c, TableRef fact, TableRef bronze, TableRef rejects, TableRef ledger,
      String schema) throws SQLException {
    if (!Db.tableExists(c, fact)) {
      Db.execute(c, FactBirths.createTableSql(fact));
      Db.execute(c, FactBirths.primaryKeySql(fact));
      Db.execute(c, FactBirths.commentSql(fact));
    } else {
      Db.requireColumns(c, fact, FactBirths.COLUMNS, "name another table with --factTable");
    }
    if (!Db.tableExists(c, bronze)) {
      Db.execute(c, LoadSinascFiles.bronzeTableSql(bronze));
    } else if (!isPartitioned(c, bronze)) {
      partitionBronze(c, bronze, ledger, TableRef.of(schema, BRONZE_VIEW));
    }
    Db.execute(c, "CREATE TABLE IF NOT EXISTS " + rejects.quoted() + " (file_name text NOT NULL, "
        + "line_number integer NOT NULL, raw_line text NOT NULL, reason text NOT NULL, "
        + "PRIMARY KEY (file_name, line_number))");
    Db.execute(c, "CREATE SEQUENCE IF NOT EXISTS " + TableRef.of(schema, FILE_ID_SEQUENCE).quoted());
    Db.execute(c, "CREATE TABLE IF NOT EXISTS " + ledger.quoted() + " (file_id bigint PRIMARY KEY, "
        + "file_name text NOT NULL UNIQUE, sha256 text NOT NULL, bytes bigint NOT NULL, lines_read bigint NOT NULL, "
        + "rows_loaded bigint NOT NULL, rows_rejected bigint NOT NULL, loaded_at timestamptz NOT NULL, "
        + "replaced_count integer NOT NULL DEFAULT 0)");
    Db.requireColumns(c, ledger, List.of("file_id", "file_name", "sha256", "rows_loaded", "rows_rejected",
        "loaded_at"), "drop or rename the old ledger table");
    Db.execute(c, "CREATE OR REPLACE VIEW " + TableRef.of(schema, BRONZE_VIEW).quoted() + " AS SELECT f.file_name, "
        + "b.* FROM " + bronze.quoted() + " b JOIN " + ledger.quoted() + " f USING (file_id)");
    requireFactTypes(c, fact);
  }

  /**
   * The fact rows are sent with COPY binary, which needs the exact column types of {@link FactBirths}
   * (an existing table with other types is refused up front rather than failing mid-file).
   */
  static void requireFactTypes(Connection c, TableRef fact) throws SQLException {
    Map<String, String> expected = FactBirths.TYPES;
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<String, String> col : Db.columns(c, fact).entrySet()) {
      String want = expected.get(col.getKey());
      if (want != null && !want.equals(col.getValue())) {
        wrong.add(col.getKey() + " is " + col.getValue() + ", expected " + want);
      }
    }
    if (!wrong.isEmpty()) {
      throw new WarehouseException(fact + " does not have fact_births' column types (" + String.join(", ", wrong)
          + "): name another table with --factTable");
    }
  }

  static boolean isPartitioned(Connection c, TableRef t) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT relkind = 'p' FROM pg_class WHERE oid = ?::regclass")) {
      ps.setString(1, t.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /**
   * Earlier layouts kept bronze in one plain table, keyed by file_id or (before that) by file_name:
   * moves its rows, in one transaction, into the partitioned table (one partition per file).
   */
  static void partitionBronze(Connection c, TableRef bronze, TableRef ledger, TableRef view) throws SQLException {
    Db.inTransaction(c, () -> {
      TableRef old = bronze.withSuffix("__unpartitioned");
      Db.execute(c, "DROP VIEW IF EXISTS " + view.quoted()); // ensureTables creates it again
      Db.execute(c, "ALTER TABLE " + bronze.quoted() + " RENAME TO " + Sql.quoteIdent(old.name()));
      List<String> cols = LoadSinascFiles.BRONZE_COLUMNS.subList(1, LoadSinascFiles.BRONZE_COLUMNS.size());
      String rows;
      if (Db.columns(c, old).containsKey("file_id")) {
        rows = "SELECT file_id, " + String.join(", ", cols) + " FROM " + old.quoted();
      } else { // keyed by file_name: the ledger gives each file's id
        long orphans = Db.queryLong(c, "SELECT count(*) FROM " + old.quoted() + " b WHERE NOT EXISTS (SELECT 1 FROM "
            + ledger.quoted() + " f WHERE f.file_name = b.file_name)");
        if (orphans > 0) {
          throw new WarehouseException(bronze + " has " + orphans + " rows of files the ledger does not know: "
              + "cannot key it by file_id; drop or rename " + bronze);
        }
        rows = "SELECT f.file_id::integer, b." + String.join(", b.", cols) + " FROM " + old.quoted() + " b JOIN "
            + ledger.quoted() + " f USING (file_name)";
      }
      Db.execute(c, LoadSinascFiles.bronzeTableSql(bronze));
      List<Long> ids = new ArrayList<>();
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT DISTINCT file_id FROM (" + rows + ") r ORDER BY 1")) {
        while (rs.next()) {
          ids.add(rs.getLong(1));
        }
      }
      for (long id : ids) {
        Db.execute(c, "CREATE TABLE " + LoadSinascFiles.bronzePartition(bronze, id).quoted() + " PARTITION OF "
            + bronze.quoted() + " FOR VALUES IN (" + id + ")");
      }
      Db.execute(c, "INSERT INTO " + bronze.quoted() + " (" + String.join(", ", LoadSinascFiles.BRONZE_COLUMNS)
          + ") " + rows);
      Db.execute(c, "DROP TABLE " + old.quoted());
      return null;
    });
  }

  /** Load tables of bronze partitions that a killed run never attached (see LoadSinascFiles). */
  static void dropAbandonedBronzeLoads(Connection c, String schema) throws SQLException {
    List<String> abandoned = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT t.oid::regclass::text FROM pg_class t JOIN pg_namespace n "
        + "ON n.oid = t.relnamespace WHERE n.nspname = ? AND t.relkind = 'r' AND NOT t.relispartition "
        + "AND obj_description(t.oid, 'pg_class') = ?")) {
      ps.setString(1, schema);
      ps.setString(2, LoadSinascFiles.LOADING_COMMENT);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          abandoned.add(rs.getString(1));
        }
      }
    }
    for (String t : abandoned) {
      Db.execute(c, "DROP TABLE IF EXISTS " + t);
    }
  }

  /** Decides new / replace / skip per file against the ledger; a changed file without --replace fails. */
  static void plan(Connection c, List<FilePlan> files, TableRef ledger, boolean replace, String schema)
      throws SQLException {
    Map<String, FilePlan> byName = new LinkedHashMap<>();
    files.forEach(f -> byName.put(f.name, f));
    List<String> conflicts = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT file_name, file_id, sha256, loaded_at FROM "
        + ledger.quoted() + " WHERE file_name = ANY (?)")) {
      Array names = c.createArrayOf("text", byName.keySet().toArray());
      ps.setArray(1, names);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          FilePlan f = byName.get(rs.getString(1));
          f.fileId = rs.getLong(2);
          f.previousLoad = "on " + rs.getTimestamp(4).toInstant();
          if (rs.getString(3).equals(f.sha256)) {
            f.action = "skip";
          } else if (replace) {
            f.action = "replace";
          } else {
            conflicts.add(f.name + " (loaded " + f.previousLoad + " with sha256 " + rs.getString(3).substring(0, 12)
                + "…, now " + f.sha256.substring(0, 12) + "…)");
          }
        }
      }
    }
    if (!conflicts.isEmpty()) {
      throw new WarehouseException("changed file(s) under an already loaded name: " + String.join("; ", conflicts)
          + ": pass --replace to replace their rows, or give the new export a new name; nothing loaded");
    }
    for (FilePlan f : files) {
      if (f.action == null) {
        f.action = "new";
        f.fileId = Db.queryLong(c, "SELECT nextval('" + TableRef.of(schema, FILE_ID_SEQUENCE).quoted()
            .replace("'", "''") + "')");
      }
    }
  }

  static PipelineResult runPipeline(IngestOptions o, JdbcConfig db, Staging stage, List<FilePlan> todo,
      TableRef fact, TableRef bronze, TableRef rejects, TableRef ledger) {
    Map<String, Long> ids = new HashMap<>();
    Map<String, String> shas = new HashMap<>();
    Map<String, Long> bytes = new HashMap<>();
    Set<String> replace = new HashSet<>();
    for (FilePlan f : todo) {
      ids.put(f.name, f.fileId);
      if (f.sha256 != null) {
        shas.put(f.name, f.sha256); // known names only: a new file's hash comes from its worker
      }
      bytes.put(f.name, f.bytes);
      if (f.action.equals("replace")) {
        replace.add(f.name);
      }
    }
    LoadSinascFiles.Target target = new LoadSinascFiles.Target(db, fact.quoted(),
        bronze, rejects.quoted(), ledger.quoted(), stage.files.quoted(),
        Charset.forName(o.getEncoding()).name(), o.getMaxRejectRatio(), ids, shas, bytes, replace);
    Pipeline p = Pipeline.create(o);
    // The planned files as a Create (split across workers by the runner: on the DirectRunner one file
    // per worker thread, --targetParallelism of them at once; on Flink e.g. 2 + 2 of 4 files on 2 slots)
    // rather than a Reshuffle with random keys, which on Flink could put several files on one worker
    // while the other idled.
    List<String> paths = todo.stream().map(f -> f.path).collect(Collectors.toList());
    p.apply("PlannedFiles", Create.of(paths))
        .apply("MatchFiles", ParDo.of(new MatchPlannedFn()))
        .setCoder(MetadataCoderV2.of())
        .apply("ReadMatches", FileIO.readMatches().withCompression(Compression.UNCOMPRESSED))
        .apply("LoadSinascFiles", LoadSinascFiles.into(target));
    PipelineResult result;
    try {
      result = p.run();
      PipelineResult.State state = result.waitUntilFinish();
      if (state != PipelineResult.State.DONE) {
        throw new WarehouseException("the ingest pipeline ended in state " + state
            + "; files committed before the failure stay loaded (see ingest_files), the others were rolled back: re-run");
      }
    } catch (Pipeline.PipelineExecutionException e) {
      // the worker's own exception (WarehouseException, …) is the message the user needs
      if (e.getCause() instanceof RuntimeException) {
        throw (RuntimeException) e.getCause();
      }
      throw e;
    }
    return result;
  }

  /** Path → its metadata; a file gone since planning is left out (verify then refuses it). */
  static final class MatchPlannedFn extends DoFn<String, MatchResult.Metadata> {
    private static final long serialVersionUID = 1L;

    @ProcessElement
    public void process(@Element String path, OutputReceiver<MatchResult.Metadata> out) throws IOException {
      try {
        out.output(FileSystems.matchSingleFileSpec(path));
      } catch (FileNotFoundException e) {
        // disappeared after planning: no summary row, so verify reports it
      }
    }
  }

  /** Per file: exactly one summary row written by its worker, loaded + rejected = lines read. */
  static void verify(Connection c, Staging stage, List<FilePlan> todo) throws SQLException {
    Map<String, FilePlan> byName = new HashMap<>();
    todo.forEach(f -> byName.put(f.name, f));
    Map<String, Integer> summaries = new HashMap<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT file_name, lines_read, rows_loaded, rows_rejected, error, sha256 FROM "
            + stage.files.quoted())) {
      while (rs.next()) {
        FilePlan f = byName.get(rs.getString(1));
        if (f == null) {
          continue;
        }
        summaries.merge(f.name, 1, Integer::sum);
        f.lines = rs.getLong(2);
        f.loaded = rs.getLong(3);
        f.rejected = rs.getLong(4);
        f.refusal = rs.getString(5);
        f.sha256 = rs.getString(6); // what the worker hashed while reading (= the planned one for known files)
      }
    }
    for (FilePlan f : todo) {
      Integer n = summaries.get(f.name);
      if (n == null) {
        f.refusal = "not read: it disappeared after the run listed it";
        continue;
      }
      if (n != 1 || (f.refusal == null && f.loaded + f.rejected != f.lines)) {
        throw new WarehouseException(f.name + ": " + n + " summaries, " + f.lines + " lines read but " + f.loaded
            + " loaded + " + f.rejected + " rejected: check ingest_files and re-run");
      }
    }
  }

  static void summarize(Progress progress, RunReport report, List<FilePlan> files, TableRef fact, TableRef bronze,
      TableRef rejects, long started) {
    int i = 0;
    long read = 0;
    long loaded = 0;
    long rejected = 0;
    for (FilePlan f : files) {
      String what;
      if (f.action.equals("skip")) {
        what = "already loaded " + f.previousLoad + " (same sha256): skipped";
      } else if (f.refusal != null) {
        what = "REFUSED, nothing loaded: " + f.refusal;
      } else {
        what = f.action.equals("replace") ? "replaced the rows of its previous version" : "loaded";
        read += f.lines;
        loaded += f.loaded;
        rejected += f.rejected;
      }
      if (f.action.equals("skip")) {
        progress.step(++i, files.size(), "%-28s %s", f.name, what);
      } else if (f.refusal != null) {
        progress.step(++i, files.size(), "%-28s %10s lines  %s", f.name, Progress.rows(f.lines), what);
      } else {
        progress.step(++i, files.size(), "%-28s %10s lines  %10s loaded  %8s rejected  %s", f.name,
            Progress.rows(f.lines), Progress.rows(f.loaded), Progress.rows(f.rejected), what);
      }
      Map<String, Object> d = new LinkedHashMap<>();
      d.put("fileId", f.fileId);
      d.put("action", f.refusal != null ? "refused" : f.action);
      d.put("linesRead", f.lines);
      d.put("rowsLoaded", f.refusal != null ? 0 : f.loaded);
      d.put("rowsRejected", f.refusal != null ? 0 : f.rejected);
      d.put("linesTypable", f.loaded);
      d.put("linesUntypable", f.rejected);
      d.put("sha256", f.sha256);
      if (f.refusal != null) {
        d.put("refusal", f.refusal);
      }
      report.detail("file:" + f.name, d);
    }
    long done = files.stream().filter(f -> !f.action.equals("skip") && f.refusal == null).count();
    long refused = files.stream().filter(f -> f.refusal != null).count();
    long nanos = System.nanoTime() - started;
    report.table(fact.toString(), loaded, "appended").table(bronze.toString(), loaded + rejected, "appended")
        .table(rejects.toString(), rejected, "appended");
    report.counter("filesLoaded", done).counter("filesSkipped", count(files, "skip")).counter("filesRefused", refused);
    progress.say("ingest: summary");
    progress.say("  files   %d matched: %d loaded (%d replaced), %d skipped (already loaded), %d refused", files.size(),
        done, files.stream().filter(f -> f.action.equals("replace") && f.refusal == null).count(), count(files, "skip"),
        refused);
    progress.say("  lines   %s read, %s loaded into %s, %s rejected into %s", Progress.rows(read), Progress.rows(loaded),
        fact, Progress.rows(rejected), rejects);
    progress.say("  time    %s (%s lines/s)", Progress.seconds(nanos), Progress.rows((long) (read / (nanos / 1e9))));
  }

  /** The UNLOGGED table of one run receiving a summary row per file (one run at a time: PipelineLock). */
  static final class Staging {
    final TableRef files;
    /** Earlier designs' staging tables: dropped when found. */
    final List<TableRef> leftovers;

    Staging(String schema) {
      files = TableRef.of(schema, "ingest_stage_files");
      leftovers = List.of(TableRef.of(schema, "ingest_stage_silver"), TableRef.of(schema, "ingest_stage_bronze"),
          TableRef.of(schema, "ingest_stage_rejects"));
    }

    void create(Connection c) throws SQLException {
      dropQuietly(c);
      Db.execute(c, "CREATE UNLOGGED TABLE " + files.quoted() + " (file_name text NOT NULL, file_id bigint NOT NULL, "
          + "lines_read bigint NOT NULL, rows_loaded bigint NOT NULL, rows_rejected bigint NOT NULL, "
          + "sha256 text NOT NULL, error text)");
    }

    void dropQuietly(Connection c) {
      List<TableRef> all = new ArrayList<>(leftovers);
      all.add(files);
      for (TableRef t : all) {
        try {
          Db.dropIfExists(c, t);
        } catch (SQLException ignored) {
          // best effort: the next run drops leftovers first
        }
      }
    }
  }
}
