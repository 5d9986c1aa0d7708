package org.warehouse.pipelines.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.pipelines.GenerateCsvPipeline;
import org.warehouse.pipelines.Main;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.ingest.LoadSinascFiles;
import org.warehouse.transforms.ingest.SinascCsvWriter;
import org.warehouse.transforms.ingest.SinascCsvWriter.Damage;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/** ingest on the DirectRunner against PostgreSQL, checked against the SQL oracle ({@link IngestOracle}). */
public class IngestPipelineTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  static List<SinascCsvWriter.FileResult> generate(Path dir, long births, int files, double badRate, long seed,
      String... extra) throws Exception {
    List<String> args = new ArrayList<>(List.of("--out=" + dir, "--births=" + births, "--files=" + files,
        "--badRate=" + badRate, "--seed=" + seed));
    args.addAll(Arrays.asList(extra));
    return GenerateCsvPipeline.run(PipelineOptionsFactory.fromArgs(args.toArray(new String[0])).withValidation()
        .as(GenerateCsvPipeline.GenerateCsvOptions.class));
  }

  static Path[] paths(List<SinascCsvWriter.FileResult> files) {
    return files.stream().map(f -> f.path).toArray(Path[]::new);
  }

  static IngestPipeline.IngestOptions options(TestDatabase db, String schema, String input, String... extra) {
    List<String> args = new ArrayList<>(Arrays.asList(db.connectionArgs()));
    if (Arrays.stream(extra).noneMatch(a -> a.startsWith("--runner="))) {
      args.add("--runner=DirectRunner");
    }
    args.add("--schema=" + schema);
    args.add("--input=" + input);
    args.addAll(Arrays.asList(extra));
    return PipelineOptionsFactory.fromArgs(args.toArray(new String[0])).withValidation()
        .as(IngestPipeline.IngestOptions.class);
  }

  static void createSchema(Connection c, String schema) throws Exception {
    Db.execute(c, "CREATE SCHEMA " + schema);
    IngestOracle.create(c, schema);
  }

  /** Counts that must not move when a run changes nothing (tables: no bronze load table left behind). */
  static String state(Connection c, String s) throws Exception {
    return Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relnamespace = '" + s + "'::regnamespace "
        + "AND relkind IN ('r', 'p')") + " tables/"
        + Db.queryLong(c, "SELECT count(*) FROM " + s + ".fact_births") + "/"
        + Db.queryLong(c, "SELECT count(*) FROM " + s + ".bronze_sinasc_raw") + "/"
        + Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_rejects") + "/"
        + Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_files") + "/"
        + Db.queryLong(c, "SELECT coalesce(sum(hashtext(sha256 || loaded_at::text || file_id)), 0) FROM "
            + s + ".ingest_files");
  }

  /** Every damaged line is a reject whose reason names the damaged column; nothing else is rejected. */
  static void assertRejectsAreTheDamagedLines(Connection c, String s, List<SinascCsvWriter.FileResult> files)
      throws Exception {
    Map<String, String> got = new HashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT file_name, line_number, reason FROM " + s + ".ingest_rejects");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        got.put(rs.getString(1) + ":" + rs.getLong(2), rs.getString(3));
      }
    }
    int expected = 0;
    Map<Damage, Integer> kinds = new HashMap<>();
    for (SinascCsvWriter.FileResult f : files) {
      String name = f.path.getFileName().toString();
      long loaded = Db.queryLong(c, "SELECT rows_loaded FROM " + s + ".ingest_files WHERE file_name = '" + name + "'");
      long rejected = Db.queryLong(c, "SELECT rows_rejected FROM " + s + ".ingest_files WHERE file_name = '" + name + "'");
      long read = Db.queryLong(c, "SELECT lines_read FROM " + s + ".ingest_files WHERE file_name = '" + name + "'");
      assertThat(name + " lines", read, is(f.lines));
      assertThat(name + " loaded + rejected = lines", loaded + rejected, is(f.lines));
      assertThat(name + " rejected", rejected, is((long) f.damaged.size()));
      for (Map.Entry<Long, Damage> d : f.damaged.entrySet()) {
        String reason = got.get(name + ":" + d.getKey());
        assertThat(name + ":" + d.getKey() + " " + d.getValue() + " is rejected", reason != null, is(true));
        kinds.merge(d.getValue(), 1, Integer::sum);
        expected++;
        switch (d.getValue()) {
          case BAD_DATE: assertThat(reason, startsWith("DTNASC: invalid date '31")); break;
          case BAD_WEIGHT: assertThat(reason, startsWith("PESO: not a number")); break;
          case RAGGED_ROW: assertThat(reason, containsString("(missing SEXO, RACACOR, PESO)")); break;
          case UNKNOWN_CODE: assertThat(reason, org.hamcrest.Matchers.anyOf(equalTo("SEXO: unknown code (1 M, 2 F, 0 ignored) '7'"),
              startsWith("PARTO: unknown code"))); break;
          case UNBALANCED_QUOTE: assertThat(reason, startsWith("row: unbalanced or misplaced quote")); break;
          case EMPTY_LINE: assertThat(reason, equalTo("row: empty line")); break;
          default: throw new AssertionError(d);
        }
      }
    }
    assertThat("every damage kind occurs", kinds.size(), is(Damage.values().length));
    assertThat("no other rejects", got.size(), is(expected));
  }

  @Test
  public void loadsTypedRowsEqualToTheSqlOracleRejectsEveryDamagedLineAndARerunChangesNothing() throws Exception {
    String s = "s_load";
    Path dir = tmp.newFolder("load").toPath();
    List<SinascCsvWriter.FileResult> files = generate(dir, 3000, 3, 0.02, 11);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      assertThat(IngestPipeline.run(options(DB, s, dir + "/*.csv", "--maxRejectRatio=0.05")) != null, is(true));
      IngestOracle.assertMatchesLatin1(c, s, paths(files));
      assertRejectsAreTheDamagedLines(c, s, files);
      // bronze: every line that split into the header's columns, i.e. all but empty/ragged/quote lines
      long unsplit = files.stream().flatMap(f -> f.damaged.values().stream()).filter(d -> d == Damage.EMPTY_LINE
          || d == Damage.RAGGED_ROW || d == Damage.UNBALANCED_QUOTE).count();
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".bronze_sinasc_raw"), is(3000 - unsplit));
      IngestOracle.assertBronzeMatches(c, s);

      String before = state(c, s);
      assertThat("a re-run loads nothing", IngestPipeline.run(options(DB, s, dir + "/*.csv")), nullValue());
      assertThat(state(c, s), equalTo(before));
    }
  }

  /**
   * One file of ~7 fact chunks (~1 MB each), ~5 bronze chunks and ~2 MB of rejects: the fact connection
   * switches between its open fact COPY and the rejects COPY several times inside the file, and every
   * row must still arrive once, as the oracle says.
   */
  @Test
  public void aFileOfManyChunksWithRejectsBetweenThemMatchesTheSqlOracle() throws Exception {
    String s = "s_chunks";
    Path dir = tmp.newFolder("chunks").toPath();
    List<SinascCsvWriter.FileResult> files = generate(dir, 100_000, 1, 0.2, 13);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      PipelineResult r = IngestPipeline.run(options(DB, s, dir + "/*.csv", "--maxRejectRatio=0.5"));
      long statements = r.metrics().queryMetrics(MetricsFilter.builder()
          .addNameFilter(MetricNameFilter.named(LoadSinascFiles.class, "copyStatements")).build())
          .getCounters().iterator().next().getAttempted();
      assertThat("COPY statements (fact and rejects alternate): " + statements, statements >= 5, is(true));
      IngestOracle.assertMatchesLatin1(c, s, files.get(0).path);
      IngestOracle.assertBronzeMatches(c, s);
      assertRejectsAreTheDamagedLines(c, s, files);
    }
  }

  @Test
  public void gzippedUtf8WithBomAndUtf8WithoutBomKeepTheirAccents() throws Exception {
    String s = "s_utf8";
    Path gz = tmp.newFolder("gz").toPath();
    Path plain = tmp.newFolder("plain").toPath();
    List<SinascCsvWriter.FileResult> a = generate(gz, 1500, 2, 0.03, 21, "--encoding=UTF-8", "--bom=true", "--gzip=true");
    List<SinascCsvWriter.FileResult> b = generate(plain, 1000, 1, 0.03, 22, "--encoding=UTF-8");
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestPipeline.run(options(DB, s, gz + "/*.gz", "--maxRejectRatio=0.1")); // default Latin-1, BOM wins
      IngestPipeline.run(options(DB, s, plain + "/*", "--encoding=UTF-8", "--maxRejectRatio=0.1"));
      for (SinascCsvWriter.FileResult f : a) {
        IngestOracle.addFile(c, s, f.path, "UTF8");
      }
      IngestOracle.addFile(c, s, b.get(0).path, "UTF8");
      IngestOracle.build(c, s);
      IngestOracle.assertMatches(c, s); // rejects' raw_line equals the server's UTF-8 decoding
      List<SinascCsvWriter.FileResult> all = new ArrayList<>(a);
      all.addAll(b);
      assertRejectsAreTheDamagedLines(c, s, all);
      assertThat("accented names survived", Db.queryLong(c, "SELECT count(*) FROM " + s
          + ".ingest_rejects WHERE raw_line ~ '[ãáéíóúçõâêô]'") > 0, is(true));
      assertThat("no mojibake", Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_rejects WHERE raw_line ~ 'Ã'"),
          is(0L));
    }
  }

  @Test
  public void aChangedFileFailsWithoutReplaceAndIsReplacedAtomicallyWithIt() throws Exception {
    String s = "s_replace";
    Path dir = tmp.newFolder("replace").toPath();
    Path other = tmp.newFolder("replace2").toPath();
    List<SinascCsvWriter.FileResult> files = generate(dir, 2000, 2, 0.005, 31);
    List<SinascCsvWriter.FileResult> changed = generate(other, 2400, 2, 0.005, 32);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestPipeline.run(options(DB, s, dir + "/*.csv"));
      long oldId = Db.queryLong(c, "SELECT file_id FROM " + s + ".ingest_files WHERE file_name = 'sinasc_001.csv'");
      Files.copy(changed.get(1).path, files.get(1).path, StandardCopyOption.REPLACE_EXISTING);
      String before = state(c, s);
      WarehouseException e = assertThrows(WarehouseException.class, () -> IngestPipeline.run(options(DB, s, dir + "/*.csv")));
      assertThat(e.getMessage(), containsString("sinasc_001.csv"));
      assertThat(e.getMessage(), containsString("--replace"));
      assertThat(state(c, s), equalTo(before));

      IngestPipeline.run(options(DB, s, dir + "/*.csv", "--replace=true"));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_files"), is(2L));
      assertThat("the replaced file keeps its file_id", Db.queryLong(c, "SELECT file_id FROM " + s
          + ".ingest_files WHERE file_name = 'sinasc_001.csv' AND replaced_count = 1"), is(oldId));
      // the files as they are now: no row of the old version is left, the new one is complete
      IngestOracle.assertMatchesLatin1(c, s, paths(files));
      IngestOracle.assertBronzeMatches(c, s); // bronze too (deleted by file_id, re-written)
      assertThat(Db.queryLong(c, "SELECT lines_read FROM " + s + ".ingest_files WHERE file_name = 'sinasc_001.csv'"),
          is(changed.get(1).lines));
    }
  }

  @Test
  public void aFileOverMaxRejectRatioLoadsNothingAndExitsOneNamingItAndItsTopReasons() throws Exception {
    String s = "s_ratio";
    Path dir = tmp.newFolder("ratio").toPath();
    Path bad = tmp.newFolder("ratio-bad").toPath();
    generate(dir, 1000, 1, 0.0, 41);
    List<SinascCsvWriter.FileResult> b = generate(bad, 600, 1, 0.1, 42);
    Files.move(b.get(0).path, dir.resolve("bad_000.csv"));
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      List<String> args = new ArrayList<>(List.of("ingest", "--runner=DirectRunner", "--schema=" + s,
          "--input=" + dir + "/*.csv"));
      args.addAll(Arrays.asList(DB.connectionArgs()));
      int code = Main.run(args.toArray(new String[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
          new PrintStream(err, true, StandardCharsets.UTF_8));
      String stderr = err.toString(StandardCharsets.UTF_8);
      assertThat(stderr, code, is(Main.FAILED));
      assertThat(stderr, containsString("bad_000.csv"));
      assertThat(stderr, containsString("top reasons: "));
      assertThat(stderr, containsString("DTNASC: invalid date x"));
      for (String t : List.of("bronze_sinasc", "ingest_rejects", "ingest_files")) {
        assertThat(t, Db.queryLong(c, "SELECT count(*) FROM " + s + "." + t + " WHERE file_name = 'bad_000.csv'"), is(0L));
      }
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".fact_births"), is(1000L));
      // bad_000.csv is not in the ledger: must match nothing
      IngestOracle.assertMatchesLatin1(c, s, dir.resolve("sinasc_000.csv"), dir.resolve("bad_000.csv"));
    }
  }

  /** A gzip cut off mid-file (a partial download) fails while its fact and bronze COPYs are open. */
  @Test
  public void aTruncatedGzipFileIsRefusedNamingTheLineWhereItBreaksAndTheOtherFileLoads() throws Exception {
    String s = "s_trunc";
    Path dir = tmp.newFolder("trunc").toPath();
    List<SinascCsvWriter.FileResult> files = generate(dir, 60_000, 2, 0.01, 43);
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (java.util.zip.GZIPOutputStream z = new java.util.zip.GZIPOutputStream(gz)) {
      z.write(Files.readAllBytes(files.get(1).path));
    }
    Files.delete(files.get(1).path);
    byte[] whole = gz.toByteArray();
    Files.write(dir.resolve("cut_001.csv.gz"), Arrays.copyOf(whole, whole.length * 2 / 3));
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      List<String> args = new ArrayList<>(List.of("ingest", "--runner=DirectRunner", "--schema=" + s,
          "--input=" + dir + "/*"));
      args.addAll(Arrays.asList(DB.connectionArgs()));
      int code = Main.run(args.toArray(new String[0]), new PrintStream(new ByteArrayOutputStream(), true,
          StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
      String stderr = err.toString(StandardCharsets.UTF_8);
      assertThat(stderr, code, is(Main.FAILED));
      assertThat(stderr, org.hamcrest.Matchers.matchesPattern(
          "(?s).*cut_001\\.csv\\.gz \\(cannot be read after line [1-9][0-9]{3,}: Unexpected end of ZLIB input stream "
          + "\\(a truncated or corrupt gzip file\\?.*"));
      for (String t : List.of("bronze_sinasc", "ingest_rejects", "ingest_files")) {
        assertThat(t, Db.queryLong(c, "SELECT count(*) FROM " + s + "." + t + " WHERE file_name = 'cut_001.csv.gz'"),
            is(0L));
      }
      IngestOracle.assertMatchesLatin1(c, s, files.get(0).path); // the whole first file, not one row of the cut one
      IngestOracle.assertBronzeMatches(c, s);
      assertThat("no load table left", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relnamespace = '" + s
          + "'::regnamespace AND relname LIKE '%\\_\\_load\\_%'"), is(0L));
      assertThat("one bronze partition", Db.queryLong(c, "SELECT count(*) FROM pg_inherits WHERE inhparent = '"
          + s + ".bronze_sinasc_raw'::regclass"), is(1L));
    }
  }

  @Test
  public void aFailureInsideTheCommitLeavesEveryTableAsItWas() throws Exception {
    String s = "s_fail";
    Path dir = tmp.newFolder("fail").toPath();
    Path more = tmp.newFolder("fail2").toPath();
    generate(dir, 1000, 1, 0.005, 51);
    List<SinascCsvWriter.FileResult> second = generate(more, 1500, 1, 0.005, 52);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestPipeline.run(options(DB, s, dir + "/*.csv"));
      Files.move(second.get(0).path, dir.resolve("later_000.csv"));
      String before = state(c, s);
      // the second file's COMMIT itself fails: a deferred constraint trigger on its ledger row raises at
      // COMMIT, after every COPY, the attach of its bronze partition and its ledger row
      Db.execute(c, "CREATE FUNCTION " + s + ".fail_commit() RETURNS trigger LANGUAGE plpgsql AS "
          + "$$BEGIN RAISE EXCEPTION 'injected failure at COMMIT'; END$$");
      Db.execute(c, "CREATE CONSTRAINT TRIGGER fail_commit AFTER INSERT ON " + s + ".ingest_files "
          + "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.file_name = 'later_000.csv') "
          + "EXECUTE FUNCTION " + s + ".fail_commit()");
      Exception e = assertThrows(Exception.class, () -> IngestPipeline.run(options(DB, s, dir + "/*.csv")));
      assertThat(String.valueOf(e.getMessage()), containsString("injected failure at COMMIT"));
      Db.execute(c, "DROP TRIGGER fail_commit ON " + s + ".ingest_files");
      assertThat(state(c, s), equalTo(before));
      assertThat("run table dropped", Db.queryLong(c, "SELECT count(*) FROM pg_tables WHERE schemaname = '" + s
          + "' AND tablename LIKE 'ingest\\_files\\_\\_run\\_%'"), is(0L));

      IngestPipeline.run(options(DB, s, dir + "/*.csv"));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_files"), is(2L));
      IngestOracle.assertMatchesLatin1(c, s, dir.resolve("sinasc_000.csv"), dir.resolve("later_000.csv"));
    }
  }

  /** A worker keeps its sessions across files; one that died in between (server restart, idle timeout) is replaced. */
  @Test
  public void aKeptSessionThatDiedBetweenFilesIsReplacedAndEveryFileLoads() throws Exception {
    String s = "s_session";
    Path dir = tmp.newFolder("session").toPath();
    generate(dir, 1200, 3, 0.005, 91);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      // after each file's bronze is attached (its session's work is done), end that kept session as a
      // server restart or an idle timeout would (a trigger on the ledger row, inside the file's
      // transaction); the next file must get a new one
      IngestTables.of(s, "fact_births").ensure(c);
      Db.execute(c, "CREATE TABLE " + s + ".kills (n int)");
      Db.execute(c, "CREATE FUNCTION " + s + ".end_bronze_session() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
          + "INSERT INTO " + s + ".kills SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
          + "WHERE datname = current_database() AND application_name = 'warehouse-ingest-bronze') t; RETURN NULL; END$$");
      Db.execute(c, "CREATE TRIGGER end_bronze_session AFTER INSERT ON " + s + ".ingest_files FOR EACH ROW "
          + "EXECUTE FUNCTION " + s + ".end_bronze_session()");
      IngestPipeline.run(options(DB, s, dir + "/*.csv", "--targetParallelism=1"));
      assertThat("a kept bronze session was ended before each file's commit",
          Db.queryLong(c, "SELECT sum(n) FROM " + s + ".kills"), is(3L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_files"), is(3L));
      IngestOracle.assertMatchesLatin1(c, s, dir.resolve("sinasc_000.csv"), dir.resolve("sinasc_001.csv"),
          dir.resolve("sinasc_002.csv"));
      IngestOracle.assertBronzeMatches(c, s);
    }
  }

  @Test
  public void aRetriedWorkerForAnAlreadyCommittedFileWritesNothing() throws Exception {
    String s = "s_retry";
    Path dir = tmp.newFolder("retry").toPath();
    generate(dir, 800, 1, 0.01, 61);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestPipeline.run(options(DB, s, dir + "/*.csv"));
      long fileId = Db.queryLong(c, "SELECT file_id FROM " + s + ".ingest_files");
      String sha;
      try (PreparedStatement ps = c.prepareStatement("SELECT sha256 FROM " + s + ".ingest_files");
          ResultSet rs = ps.executeQuery()) {
        rs.next();
        sha = rs.getString(1);
      }
      Db.execute(c, "CREATE TABLE " + s + ".retry_summaries (file_name text, file_id bigint, lines_read bigint, "
          + "rows_loaded bigint, rows_rejected bigint, sha256 text, error text, records_deleted bigint)");
      String before = state(c, s);
      // replay the file's worker with the same plan, as a runner retrying a bundle after its COMMIT would
      assertThat(replayWorker(s, dir, fileId, Map.of("sinasc_000.csv", sha)), is(PipelineResult.State.DONE));
      assertThat(state(c, s), equalTo(before));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".retry_summaries"), is(0L));
      // the same for a file planned as new (no planned sha256: the driver does not hash new files)
      assertThat(replayWorker(s, dir, fileId, Map.of()), is(PipelineResult.State.DONE));
      assertThat(state(c, s), equalTo(before));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".retry_summaries"), is(0L));
    }
  }

  /**
   * Replays sinasc_000.csv's worker with the plan a run gave it (its file_id; its planned sha256, or none
   * for a file planned as new), as a runner retrying a bundle after its COMMIT would; summaries go to
   * {@code retry_summaries}.
   */
  private static PipelineResult.State replayWorker(String s, Path dir, long fileId, Map<String, String> shas) {
    LoadSinascFiles.Target target = new LoadSinascFiles.Target(DB.config(), TableRef.of(s, "fact_births").quoted(),
        TableRef.of(s, "bronze_sinasc_raw"), TableRef.of(s, "ingest_rejects").quoted(),
        TableRef.of(s, "ingest_files").quoted(), TableRef.of(s, "retry_summaries").quoted(),
        new LoadSinascFiles.Rules("ISO-8859-1", 0.01, 1 << 20, 60),
        Map.of("sinasc_000.csv", new LoadSinascFiles.PlannedLoad(fileId, shas.get("sinasc_000.csv"), 1L, false)),
        (PublishGuard & java.io.Serializable) c -> { });
    Pipeline p = Pipeline.create(PipelineOptionsFactory.fromArgs("--runner=DirectRunner").create());
    p.apply("Match", FileIO.match().filepattern(dir + "/*.csv"))
        .apply("Read", FileIO.readMatches())
        .apply("Load", LoadSinascFiles.into(target));
    return p.run().waitUntilFinish();
  }

  /** A bronze table of an earlier, plain layout is refused with one line saying what to do; nothing changes. */
  @Test
  public void aBronzeTableOfAnEarlierPlainLayoutIsRefusedNamingItAndNothingChanges() throws Exception {
    String s = "s_plain";
    Path dir = tmp.newFolder("plain-bronze").toPath();
    Path more = tmp.newFolder("plain-bronze2").toPath();
    generate(dir, 900, 1, 0.01, 71);
    List<SinascCsvWriter.FileResult> second = generate(more, 700, 1, 0.01, 72);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestPipeline.run(options(DB, s, dir + "/*.csv", "--maxRejectRatio=0.05"));
      String fields = String.join(", ", LoadSinascFiles.BRONZE_COLUMNS.subList(2, LoadSinascFiles.BRONZE_COLUMNS.size()));
      Db.execute(c, "DROP VIEW " + s + ".bronze_sinasc");
      Db.execute(c, "CREATE TABLE " + s + ".plain AS SELECT b.file_id, b.line_number, " + fields + " FROM " + s
          + ".bronze_sinasc_raw b");
      Db.execute(c, "DROP TABLE " + s + ".bronze_sinasc_raw");
      Db.execute(c, "ALTER TABLE " + s + ".plain RENAME TO bronze_sinasc_raw");
      Files.move(second.get(0).path, dir.resolve("later_000.csv"));
      String before = state(c, s);
      WarehouseException e = assertThrows(WarehouseException.class,
          () -> IngestPipeline.run(options(DB, s, dir + "/*.csv", "--maxRejectRatio=0.05")));
      assertThat(e.getMessage(), containsString(s + ".bronze_sinasc_raw is a plain table of an earlier layout"));
      assertThat(e.getMessage(), containsString("docs/ingest.md"));
      assertThat(state(c, s), equalTo(before));
      assertThat(IngestTables.isPartitioned(c, TableRef.of(s, "bronze_sinasc_raw")), is(false));
    }
  }

  @Test
  public void aBronzeLoadTableLeftByAKilledWorkerIsDroppedByTheNextRunAndNeverPartOfBronze() throws Exception {
    String s = "s_abandoned";
    Path dir = tmp.newFolder("abandoned").toPath();
    generate(dir, 600, 1, 0.01, 81);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestPipeline.run(options(DB, s, dir + "/*.csv", "--maxRejectRatio=0.05"));
      long bronzeRows = Db.queryLong(c, "SELECT count(*) FROM " + s + ".bronze_sinasc_raw");
      // what a worker killed between committing its bronze rows and its file's transaction leaves
      Db.execute(c, "CREATE TABLE " + s + ".bronze_sinasc_raw__load_99_0badcafe (LIKE " + s
          + ".bronze_sinasc_raw, CHECK (file_id = 99))");
      Db.execute(c, "INSERT INTO " + s + ".bronze_sinasc_raw__load_99_0badcafe (file_id, line_number) VALUES (99, 2)");
      Db.execute(c, "COMMENT ON TABLE " + s + ".bronze_sinasc_raw__load_99_0badcafe IS '"
          + LoadSinascFiles.LOADING_COMMENT + "'");
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".bronze_sinasc_raw"), is(bronzeRows));
      IngestPipeline.run(options(DB, s, dir + "/*.csv", "--maxRejectRatio=0.05")); // nothing to load
      assertThat(Db.tableExists(c, TableRef.of(s, "bronze_sinasc_raw__load_99_0badcafe")), is(false));
      assertThat(Db.tableExists(c, TableRef.of(s, "bronze_sinasc_raw_f" + Db.queryLong(c, "SELECT file_id FROM " + s
          + ".ingest_files"))), is(true));
    }
  }

  /**
   * A 50 MB line (no line end for 50 MB) in the middle of a file of good lines: rejected with only its
   * first KB in raw_line and a reason naming --maxLineBytes; every other line loads as the oracle says
   * (the oracle reads the same file with that line cut to its first KB, which it finds bad too).
   */
  @Test
  public void aFiftyMegabyteLineIsRejectedWithItsFirstKilobyteAndTheOtherLinesLoad() throws Exception {
    String s = "s_longline";
    Path gen = tmp.newFolder("longline-gen").toPath();
    Path dir = tmp.newFolder("longline").toPath();
    Path oracle = tmp.newFolder("longline-oracle").toPath();
    List<SinascCsvWriter.FileResult> files = generate(gen, 1000, 1, 0.0, 95);
    List<String> lines = Files.readAllLines(files.get(0).path, StandardCharsets.ISO_8859_1);
    long longLine = 501; // physical line number of the long line (the header is line 1)
    try (java.io.OutputStream in = Files.newOutputStream(dir.resolve("big_000.csv"));
        java.io.OutputStream or = Files.newOutputStream(oracle.resolve("big_000.csv"))) {
      for (int i = 0; i < lines.size(); i++) {
        if (i == longLine - 1) {
          byte[] mb = "9".repeat(1 << 20).getBytes(StandardCharsets.ISO_8859_1);
          for (int k = 0; k < 50; k++) {
            in.write(mb);
          }
          in.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
          or.write(("9".repeat(1024) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        }
        byte[] line = (lines.get(i) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
        in.write(line);
        or.write(line);
      }
    }
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestPipeline.run(options(DB, s, dir + "/*.csv"));
      assertThat(Db.queryString(c, "SELECT reason FROM " + s + ".ingest_rejects"), is("row: " + (50L << 20)
          + " bytes, longer than --maxLineBytes=1048576 (raw_line keeps its first 1024 bytes)"));
      assertThat(Db.queryLong(c, "SELECT line_number FROM " + s + ".ingest_rejects"), is(longLine));
      assertThat(Db.queryLong(c, "SELECT length(raw_line) FROM " + s + ".ingest_rejects"), is(1024L));
      assertThat(Db.queryLong(c, "SELECT lines_read FROM " + s + ".ingest_files"), is(1001L));
      IngestOracle.assertMatchesLatin1(c, s, oracle.resolve("big_000.csv"));
      IngestOracle.assertBronzeMatches(c, s);
    }
  }

  /** Runs the launcher, capturing stdout (progress) and stderr; returns {exit code, stdout, stderr}. */
  private static String[] launch(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.out;
    int code;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      code = Main.run(args, System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
    } finally {
      System.setOut(saved);
    }
    return new String[] {String.valueOf(code), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8)};
  }

  private static String[] ingestArgs(String s, String input, String... extra) {
    List<String> args = new ArrayList<>(List.of("ingest", "--runner=DirectRunner", "--schema=" + s, "--input=" + input));
    args.addAll(Arrays.asList(DB.connectionArgs()));
    args.addAll(Arrays.asList(extra));
    return args.toArray(new String[0]);
  }

  /**
   * The file connection is killed (its backend terminated, as a restart would) while the second of three
   * files commits: exit 1 with one line naming the lost connection and the file that committed before;
   * stdout and the report list that file (tables and details) as a finished run would; the killed file
   * left nothing; the next run loads the other two, and all three equal the oracle.
   */
  @Test
  public void aKilledConnectionFailsInOneLineListingTheFilesAlreadyCommittedAndTheNextRunLoadsTheRest()
      throws Exception {
    String s = "s_killed";
    Path dir = tmp.newFolder("killed").toPath();
    List<SinascCsvWriter.FileResult> files = generate(dir, 1500, 3, 0.005, 97);
    Path report = tmp.getRoot().toPath().resolve("killed-report.json");
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestTables.of(s, "fact_births").ensure(c);
      // the second file's own backend ends itself inside its transaction, before COMMIT
      Db.execute(c, "CREATE FUNCTION " + s + ".kill_second() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
          + "IF (SELECT count(*) FROM " + s + ".ingest_files) >= 2 THEN PERFORM pg_terminate_backend(pg_backend_pid()); "
          + "END IF; RETURN NULL; END$$");
      Db.execute(c, "CREATE TRIGGER kill_second AFTER INSERT ON " + s + ".ingest_files FOR EACH ROW "
          + "EXECUTE FUNCTION " + s + ".kill_second()");
      String[] r = launch(ingestArgs(s, dir + "/*.csv", "--targetParallelism=1", "--reportFile=" + report));
      Db.execute(c, "DROP TRIGGER kill_second ON " + s + ".ingest_files");
      String committed = Db.queryString(c, "SELECT file_name FROM " + s + ".ingest_files");
      assertThat(r[2], r[0], is("1"));
      String errorLine = r[2].lines().filter(l -> l.startsWith("ingest failed: ")).findFirst().orElseThrow();
      assertThat(errorLine, containsString("the server closed the connection"));
      assertThat(errorLine, containsString("1 file(s) committed before the failure stay loaded (" + committed + ")"));
      assertThat(r[1], containsString("1 file(s) committed before the failure stay loaded:"));
      assertThat(r[1], org.hamcrest.Matchers.matchesPattern("(?s).*" + java.util.regex.Pattern.quote(committed)
          + " +[0-9,]+ lines +[0-9,]+ loaded .*"));
      String json = Files.readString(report);
      assertThat(json, containsString("\"status\" : \"FAILED\""));
      assertThat(json, containsString("\"file:" + committed + "\""));
      assertThat(json, org.hamcrest.Matchers.matchesPattern("(?s).*\"name\" : \"" + s + ".fact_births\",\\s*\"rows\" : "
          + Db.queryLong(c, "SELECT count(*) FROM " + s + ".fact_births") + ",.*"));
      IngestOracle.assertMatchesLatin1(c, s, dir.resolve(committed)); // that file whole, nothing of the others
      Db.execute(c, "TRUNCATE " + s + ".oracle_lines");

      r = launch(ingestArgs(s, dir + "/*.csv"));
      assertThat(r[2], r[0], is("0"));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_files"), is(3L));
      IngestOracle.assertMatchesLatin1(c, s, paths(files));
      IngestOracle.assertBronzeMatches(c, s);
    }
  }

  /**
   * The run lock's session is terminated while a file is being published (inside its transaction,
   * waiting until that backend is gone): the file's COMMIT is refused ("lost the run lock"), exit 1, and
   * every table is as before; the next run loads it.
   */
  @Test
  public void aLostRunLockRefusesTheFilesCommitAndChangesNothing() throws Exception {
    String s = "s_lostlock";
    Path dir = tmp.newFolder("lostlock").toPath();
    List<SinascCsvWriter.FileResult> files = generate(dir, 800, 1, 0.005, 98);
    try (Connection c = DB.connect()) {
      createSchema(c, s);
      IngestTables.of(s, "fact_births").ensure(c);
      String before = state(c, s);
      Db.execute(c, "CREATE FUNCTION " + s + ".end_lock() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN "
          + "PERFORM pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE datname = current_database() "
          + "AND application_name = 'warehouse-lock-ingest'; RETURN NULL; END$$");
      Db.execute(c, "CREATE TRIGGER end_lock AFTER INSERT ON " + s + ".ingest_files FOR EACH ROW "
          + "EXECUTE FUNCTION " + s + ".end_lock()");
      String[] r = launch(ingestArgs(s, dir + "/*.csv"));
      Db.execute(c, "DROP TRIGGER end_lock ON " + s + ".ingest_files");
      assertThat(r[2], r[0], is("1"));
      assertThat(r[2], containsString("lost the run lock"));
      assertThat(r[2], containsString("no file was committed"));
      assertThat(state(c, s), equalTo(before));
      assertThat(launch(ingestArgs(s, dir + "/*.csv"))[0], is("0"));
      IngestOracle.assertMatchesLatin1(c, s, paths(files));
    }
  }

  /**
   * A session holding a SHARE lock on bronze keeps the file's partition from being attached: after
   * --lockTimeoutSeconds the run fails in one line naming the file and the option, nothing of it loaded.
   */
  @Test
  public void aLockedBronzeFailsAfterTheLockTimeoutInOneLineAndLoadsNothing() throws Exception {
    String s = "s_locked";
    Path dir = tmp.newFolder("locked").toPath();
    generate(dir, 600, 1, 0.005, 99);
    try (Connection c = DB.connect(); Connection holder = DB.connect()) {
      createSchema(c, s);
      IngestTables.of(s, "fact_births").ensure(c);
      String before = state(c, s);
      holder.setAutoCommit(false);
      Db.execute(holder, "LOCK TABLE " + s + ".bronze_sinasc_raw IN SHARE MODE");
      String[] r = launch(ingestArgs(s, dir + "/*.csv", "--lockTimeoutSeconds=1"));
      holder.rollback();
      assertThat(r[2], r[0], is("1"));
      String errorLine = r[2].lines().filter(l -> l.startsWith("ingest failed: ")).findFirst().orElseThrow();
      assertThat(errorLine, containsString("could not lock sinasc_000.csv's tables within 1 s"));
      assertThat(errorLine, containsString("--lockTimeoutSeconds"));
      assertThat(state(c, s), equalTo(before));
      assertThat(launch(ingestArgs(s, dir + "/*.csv", "--lockTimeoutSeconds=0"))[0], is("2"));
    }
  }

  /** Bad option values are usage errors (exit 2) before anything is read or locked. */
  @Test
  public void badOptionValuesExitTwoBeforeAnythingHappens() throws Exception {
    Path dir = tmp.newFolder("usage").toPath();
    for (String[] bad : List.of(new String[] {"--maxLineBytes=100", "--maxLineBytes must be at least 1024 (got 100)"},
        new String[] {"--maxRejectRatio=2", "--maxRejectRatio must be between 0 and 1 (got 2.0)"},
        new String[] {"--encoding=NOPE-1", "unknown --encoding NOPE-1"})) {
      String[] r = launch(ingestArgs("s_never_created", dir + "/*.csv", bad[0]));
      assertThat(r[2], r[0], is("2"));
      assertThat(r[2], containsString(bad[1]));
    }
  }

  @Test
  public void anInputThatMatchesNoFileIsNamedAndADirectoryGetsAGlobToUse() throws Exception {
    Path dir = tmp.newFolder("exports").toPath();
    WarehouseException e = assertThrows(WarehouseException.class,
        () -> IngestInputs.match(options(DB, "unused", dir.toString()), dir.toString()));
    assertThat(e.getMessage(), is("no file matches --input=" + dir + ": it is a directory; give a glob of its files, "
        + "e.g. --input='" + dir + "/*.csv*'"));
    e = assertThrows(WarehouseException.class, () -> IngestInputs.match(options(DB, "unused", dir + "/*.csv"), dir + "/*.csv"));
    assertThat(e.getMessage(), is("no file matches --input=" + dir + "/*.csv: check the path or glob"));
  }

  @Test
  public void generateCsvRunsFromTheLauncherWithoutADatabase() throws Exception {
    Path dir = tmp.newFolder("launcher").toPath();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new String[] {"generate-csv", "--out=" + dir, "--births=50", "--files=2", "--badRate=0",
        "--gzip"}, System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(err.toString(StandardCharsets.UTF_8), code, is(Main.OK));
    assertThat(Files.exists(dir.resolve("sinasc_000.csv.gz")), is(true));
    assertThat(Files.exists(dir.resolve("sinasc_001.csv.gz")), is(true));
    assertThat(Main.run(new String[] {"generate-csv", "--births=5"}, System.out,
        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)), is(Main.USAGE));
  }
}
