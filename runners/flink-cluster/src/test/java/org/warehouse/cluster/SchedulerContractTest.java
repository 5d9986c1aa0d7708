package org.warehouse.cluster;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.emptyString;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.cluster.Scripts.Result;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/**
 * The contract a scheduler relies on, exercised through {@code scripts/run} itself (the shaded jar):
 * exit codes 0 / 1 / 2 / 3, the advisory lock per (pipeline, target database) with a clear message for
 * the loser, the JSON report on failure too, and the cron and Airflow examples in scripts/examples.
 */
public class SchedulerContractTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  @ClassRule public static final TestDatabase OTHER_DB = new TestDatabase();
  @ClassRule public static final TestDatabase INGEST_DB = new TestDatabase();
  @ClassRule public static final TestDatabase REPARTITION_DB = new TestDatabase();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final Duration TIMEOUT = Duration.ofMinutes(3);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path CRON = Scripts.ROOT.resolve("scripts/examples/cron.example");
  private static final Path DAG = Scripts.ROOT.resolve("scripts/examples/airflow_dag.py");

  /** What another run holds: the same session-level advisory lock PipelineLock takes. */
  static Connection holdLock(TestDatabase db, String pipeline) throws Exception {
    Connection c = db.connect();
    try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(hashtext(?))")) {
      ps.setString(1, "warehouse-pipelines:" + pipeline);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        assertEquals("the test could not take the lock itself", true, rs.getBoolean(1));
      }
    }
    return c;
  }

  static Result run(TestDatabase db, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(Scripts.ROOT.resolve("scripts/run").toString());
    cmd.addAll(Arrays.asList(args));
    if (db != null) {
      cmd.addAll(Arrays.asList(db.connectionArgs()));
    }
    return Scripts.run(TIMEOUT, Map.of(), cmd);
  }

  @Test
  public void theLoserOfTwoRunsExits3NamingTheHolderAndTheWinnerIsUntouched() throws Exception {
    Path report = tmp.getRoot().toPath().resolve("aggregate.json");
    try (Connection holder = holdLock(DB, "aggregate")) {
      Result r = run(DB, "aggregate", "--runner=DirectRunner", "--reportFile=" + report);
      assertEquals(r.toString(), 3, r.exitCode);
      assertThat(r.output, containsString("error: another 'aggregate' run holds the lock on " + DB.databaseName()));
      assertThat(r.output, containsString("server pid"));
      assertThat(r.output, containsString("wait for it to finish"));
      JsonNode rep = JSON.readTree(report.toFile());
      assertEquals("FAILED", rep.get("status").asText());
      assertEquals(3, rep.get("exitCode").asInt());
      assertThat(rep.get("error").asText(), containsString("holds the lock"));
      // the loser created nothing (no staging tables) and the holder's session is still there
      try (Connection c = DB.connect()) {
        assertEquals(0, Db.queryLong(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'agg\\_%'"));
      }
      assertEquals(false, holder.isClosed());
    }
    // once the holder is gone the same command gets past the lock (and fails for the real reason)
    Result r = run(DB, "aggregate", "--runner=DirectRunner", "--reportFile=" + report);
    assertEquals(r.toString(), 1, r.exitCode);
    assertThat(r.output, containsString("aggregate failed:"));
    assertThat(r.output, containsString("fact_births"));
    assertEquals(1, JSON.readTree(report.toFile()).get("exitCode").asInt());
  }

  /**
   * A successful run's output is ours only: Beam's JdbcIO prints the schema name of each read query
   * ("null" for a sub-query) to stdout, and the launcher drops those lines (dedupe reads through JdbcIO).
   */
  @Test
  public void aSuccessfulRunPrintsOnlyItsOwnLines() throws Exception {
    try (Connection c = OTHER_DB.connect()) {
      Db.execute(c, "DROP TABLE IF EXISTS public.kids, public.kids_dedupe_backup");
      Db.execute(c, "CREATE TABLE public.kids (id bigserial, parent_pk bigint, child_id bigint, payload text, "
          + "synced_at timestamptz DEFAULT now())");
      Db.execute(c, "INSERT INTO public.kids (parent_pk, child_id, payload) "
          + "SELECT g % 20, g % 3, 'p' || g FROM generate_series(1, 600) g");
    }
    Result r = run(OTHER_DB, "dedupe", "--table=public.kids", "--naturalKey=parent_pk,child_id");
    assertEquals(r.toString(), 0, r.exitCode);
    assertThat(r.output, containsString("kids: 600 rows read / 540 duplicates / 60 kept"));
    for (String line : r.output.split("\n")) {
      assertThat(r.toString(), line.strip(), not(is("null")));
    }
    try (Connection c = OTHER_DB.connect()) {
      assertEquals(60, Db.queryLong(c, "SELECT count(*) FROM public.kids"));
      assertEquals(60, Db.queryLong(c, "SELECT count(DISTINCT (parent_pk, child_id)) FROM public.kids"));
    }
  }

  /**
   * kill -9 of an ingest JVM while it COPYs: no part of any file is visible (a file is in the ledger,
   * fact_births and bronze completely or not at all), and the next run loads every file once and leaves
   * no load table behind.
   */
  @Test
  public void aKilledIngestLeavesNoPartOfAnyFileAndTheNextRunLoadsEveryFileOnce() throws Exception {
    Path dir = tmp.newFolder("sinasc").toPath();
    Result g = run(null, "generate-csv", "--out=" + dir, "--births=400000", "--files=2", "--badRate=0");
    assertEquals(g.toString(), 0, g.exitCode);
    List<String> cmd = new ArrayList<>(List.of(Scripts.ROOT.resolve("scripts/run").toString(), "ingest",
        "--input=" + dir + "/*.csv"));
    cmd.addAll(Arrays.asList(INGEST_DB.connectionArgs()));
    File out = tmp.newFile("ingest.out");
    Process p = Scripts.start(Map.of(), cmd, out);
    try (Connection c = INGEST_DB.connect()) {
      killWhenSeen(c, p, out, "application_name = 'warehouse-ingest-bronze' AND query LIKE 'COPY%'", 200, // mid-file
          "warehouse-ingest");
      // what is visible is whole files: those in the ledger, each with all its rows, nothing else
      long loadedFiles = Db.queryLong(c, "SELECT count(*) FROM ingest_files");
      assertEquals("a file was still being loaded", true, loadedFiles < 2);
      long ledgerRows = Db.queryLong(c, "SELECT coalesce(sum(rows_loaded), 0) FROM ingest_files");
      assertEquals(ledgerRows, Db.queryLong(c, "SELECT count(*) FROM fact_births"));
      assertEquals(ledgerRows, Db.queryLong(c, "SELECT count(*) FROM bronze_sinasc_raw"));
      assertEquals(0, Db.queryLong(c, "SELECT count(*) FROM fact_births f WHERE NOT EXISTS (SELECT 1 FROM "
          + "ingest_files l WHERE f.birth_id / 1000000000 = l.file_id)"));

      Result again = run(INGEST_DB, "ingest", "--input=" + dir + "/*.csv");
      assertEquals(again.toString(), 0, again.exitCode);
      assertEquals(2, Db.queryLong(c, "SELECT count(*) FROM ingest_files"));
      assertEquals(400000, Db.queryLong(c, "SELECT count(*) FROM fact_births"));
      assertEquals(400000, Db.queryLong(c, "SELECT count(DISTINCT birth_id) FROM fact_births"));
      assertEquals(400000, Db.queryLong(c, "SELECT count(*) FROM bronze_sinasc_raw"));
      assertEquals("no load table left", 0, Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relkind = 'r' "
          + "AND NOT relispartition AND relname LIKE 'bronze\\_sinasc\\_raw\\_\\_load%'"));
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * kill -9 of a repartition JVM while it copies (online, the default): the table is the original as it
   * was (same OID, rows, not partitioned, no backup) and stays writable with the dead run's capture
   * trigger on it; the next run drops that trigger and the work tables, saying so, and finishes.
   */
  @Test
  public void aKilledRepartitionLeavesTheTableAsItWasAndTheNextRunFinishes() throws Exception {
    killRepartitionThenRunAgain("big", 1000000, "application_name = 'warehouse-repartition-copy' "
        + "AND query LIKE 'INSERT INTO \"public\".\"big__%'");
  }

  /** The same, killed between catch-up rounds (while the new table's keys are built). */
  @Test
  public void aRepartitionKilledWhileCatchingUpLeavesTheTableAsItWasAndTheNextRunFinishes() throws Exception {
    killRepartitionThenRunAgain("big2", 300000, "application_name = 'warehouse-repartition' "
        + "AND query LIKE 'ALTER TABLE \"public\".\"big2__repartition_%ADD CONSTRAINT%'");
  }

  private void killRepartitionThenRunAgain(String name, int rows, String seen) throws Exception {
    String table = "public." + name;
    String checksum = "SELECT count(*) || '/' || sum(hashtextextended(t::text, 0)) FROM %s AS t";
    String before;
    long oid;
    try (Connection c = REPARTITION_DB.connect()) {
      Db.execute(c, "CREATE TABLE " + table + " (id bigint PRIMARY KEY, d date NOT NULL, payload text)");
      Db.execute(c, "INSERT INTO " + table + " SELECT g, date '2020-01-01' + (g % 1461), repeat('x', g % 50) "
          + "FROM generate_series(1, " + rows + ") g");
      Db.execute(c, "ANALYZE " + table);
      before = Db.queryString(c, String.format(checksum, table));
      oid = Db.queryLong(c, "SELECT '" + table + "'::regclass::oid::bigint");
    }
    List<String> cmd = new ArrayList<>(List.of(Scripts.ROOT.resolve("scripts/run").toString(), "repartition",
        "--table=" + table, "--partitionColumn=d", "--rangeRows=20000"));
    cmd.addAll(Arrays.asList(REPARTITION_DB.connectionArgs()));
    File out = tmp.newFile("repartition-" + name + ".out");
    Process p = Scripts.start(Map.of(), cmd, out);
    try (Connection c = REPARTITION_DB.connect()) {
      killWhenSeen(c, p, out, seen, 0, "warehouse-repartition");
      assertEquals("the same table", oid, Db.queryLong(c, "SELECT '" + table + "'::regclass::oid::bigint"));
      assertEquals("not partitioned", "r", Db.queryString(c, "SELECT relkind::text FROM pg_class WHERE oid = " + oid));
      assertEquals("the same rows", before, Db.queryString(c, String.format(checksum, table)));
      assertEquals("no backup", 0, Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname = '" + name
          + "_unpartitioned_backup'"));
      // the dead run's capture trigger is harmless: writes go on (it only logs their keys)
      Db.execute(c, "UPDATE " + table + " SET payload = payload WHERE id <= 10");
      assertEquals("the same rows after a write", before, Db.queryString(c, String.format(checksum, table)));

      Result again = run(REPARTITION_DB, "repartition", "--table=" + table, "--partitionColumn=d");
      assertEquals(again.toString(), 0, again.exitCode);
      assertEquals(again.toString(), true, again.output.contains("dropping the capture trigger " + name
          + "__repartition_capture on " + name + ", left by a run that did not finish"));
      assertEquals(again.toString(), true, Pattern.compile("dropping " + name + "__repartition_[a-z0-9]{6}, left by "
          + "a run that did not finish").matcher(again.output).find());
      assertEquals("no capture trigger left", 0, Db.queryLong(c, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE '"
          + name + "\\_\\_repartition%'"));
      assertEquals("partitioned", "p", Db.queryString(c, "SELECT relkind::text FROM pg_class WHERE oid = '" + table
          + "'::regclass"));
      assertEquals("every row once", before, Db.queryString(c, String.format(checksum, table)));
      assertEquals("the backup is the original", oid,
          Db.queryLong(c, "SELECT '" + table + "_unpartitioned_backup'::regclass::oid::bigint"));
      assertEquals("no work table left", 0, Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname LIKE '"
          + name + "\\_\\_%'"));
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * Waits until one of the database's sessions matches {@code seen} (a pg_stat_activity condition), waits
   * {@code afterMillis} more, kill -9s the launcher's process tree, and waits until every session whose
   * application name starts with {@code sessions} is gone.
   */
  private static void killWhenSeen(Connection c, Process p, File out, String seen, long afterMillis, String sessions)
      throws Exception {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (Db.queryLong(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND " + seen) == 0) {
      assertEquals("the run ended before it was killed:\n" + Files.readString(out.toPath()), true, p.isAlive());
      assertEquals("not seen in time: " + seen, true, System.nanoTime() < deadline);
      Thread.sleep(20);
    }
    Thread.sleep(afterMillis);
    p.descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly();
    p.waitFor();
    while (Db.queryLong(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        + "AND application_name LIKE '" + sessions + "%'") > 0) {
      assertEquals("the killed run's sessions did not end", true, System.nanoTime() < deadline);
      Thread.sleep(50);
    }
  }

  @Test
  public void theLockIsPerPipelineAndPerTargetDatabase() throws Exception {
    try (Connection holder = holdLock(DB, "load-reference")) {
      Result same = run(DB, "load-reference", "--runner=DirectRunner");
      assertEquals(same.toString(), 3, same.exitCode);
      Result otherDatabase = run(OTHER_DB, "load-reference", "--runner=DirectRunner");
      assertEquals(otherDatabase.toString(), 0, otherDatabase.exitCode);
      try (Connection c = OTHER_DB.connect()) {
        assertEquals(5570, Db.queryLong(c, "SELECT count(*) FROM dim_ibge_id_municipalities"));
      }
      Result otherPipeline = run(DB, "generate", "--runner=DirectRunner", "--births=0");
      assertEquals(otherPipeline.toString(), 0, otherPipeline.exitCode);
    }
  }

  @Test
  public void aSuccessfulRunLeavesAClassDataArchiveTheJvmAcceptsAndAFailedRunLeavesNone() throws Exception {
    Path archive = Path.of(Scripts.JAR + ".generate.jsa");
    Files.deleteIfExists(archive);
    Map<String, String> launcherDefaults = Map.of("WH_JAVA_OPTS", ""); // "": the launcher's defaults, with its archive
    Result failed = Scripts.run(TIMEOUT, launcherDefaults, List.of(Scripts.ROOT.resolve("scripts/run").toString(),
        "generate", "--births=1", "--runner=DirectRunner", "--jdbcUrl=jdbc:postgresql://127.0.0.1:1/nowhere"));
    assertEquals(failed.toString(), 1, failed.exitCode);
    assertFalse("a failed run keeps no archive", Files.exists(archive));

    List<String> generate = new ArrayList<>(List.of(Scripts.ROOT.resolve("scripts/run").toString(),
        "generate", "--births=0", "--runner=DirectRunner"));
    generate.addAll(Arrays.asList(DB.connectionArgs()));
    Result ok = Scripts.run(TIMEOUT, launcherDefaults, generate);
    assertEquals(ok.toString(), 0, ok.exitCode);
    assertThat("no dump output reaches the run's own", ok.output, not(containsString("[cds]")));
    // -Xshare:on refuses to start unless the archive maps and matches this jar (with another class path it fails)
    Result jvm = Scripts.run(TIMEOUT, Map.of(), List.of("java", "-Xmx6g", "-XX:SharedArchiveFile=" + archive,
        "-Xshare:on", "-cp", Scripts.JAR.toString(), "-version"));
    assertEquals(jvm.toString(), 0, jvm.exitCode);
    assertThat(jvm.output, containsString("sharing"));
    Result otherJar = Scripts.run(TIMEOUT, Map.of(), List.of("java", "-Xmx6g", "-XX:SharedArchiveFile=" + archive,
        "-Xshare:on", "-cp", tmp.getRoot().toString(), "-version"));
    assertThat(otherJar.output, otherJar.exitCode, not(is(0)));
  }

  @Test
  public void badUsageExits2() throws Exception {
    Result none = run(null);
    assertEquals(none.toString(), 2, none.exitCode);
    Path typoArchive = Path.of(Scripts.JAR + ".no-such-pipeline.jsa");
    Files.deleteIfExists(typoArchive);
    Result unknown = Scripts.run(TIMEOUT, Map.of("WH_JAVA_OPTS", ""), // "": the launcher's defaults, with its archive
        List.of(Scripts.ROOT.resolve("scripts/run").toString(), "no-such-pipeline"));
    assertEquals(unknown.toString(), 2, unknown.exitCode);
    assertThat(unknown.output, containsString("unknown pipeline 'no-such-pipeline'"));
    // scripts/run keeps a class-data archive per pipeline name; a usage error keeps none
    assertFalse(Files.exists(typoArchive));
    Result badOption = run(DB, "aggregate", "--noSuchOption=1");
    assertEquals(badOption.toString(), 2, badOption.exitCode);
    assertThat(badOption.output, containsString("see: scripts/run aggregate --help"));
    // the jar registers Flink's options only for Flink runs: a Flink flag on a DirectRunner run is named
    Result flinkFlag = run(DB, "ingest", "--input=/nonexistent/*.csv", "--parallelism=2");
    assertEquals(flinkFlag.toString(), 2, flinkFlag.exitCode);
    assertThat(flinkFlag.output, containsString("--parallelism is a Flink runner option, and this run uses the "
        + "DirectRunner (add --runner=FlinkRunner)"));
    Result help = run(null, "--help");
    assertEquals(help.toString(), 0, help.exitCode);
    assertThat(help.output, containsString("exit codes: 0 ok, 1 run failed, 2 usage, 3 another run holds the lock"));
  }

  // ---- scripts/examples ----

  @Test
  public void airflowDagParsesWithPython3AndCallsKnownPipelines() throws Exception {
    Result parse = Scripts.run(TIMEOUT, Map.of(), List.of("python3", "-c",
        "import ast, sys; ast.parse(open(sys.argv[1]).read()); print('ok')", DAG.toString()));
    assertEquals(parse.toString(), 0, parse.exitCode);
    String dag = Files.readString(DAG);
    assertThat(dag, containsString("scripts/run {pipeline}"));
    assertThat(dag, containsString("skip_on_exit_code=LOCK_HELD"));
    Set<String> used = new LinkedHashSet<>();
    Matcher m = Pattern.compile("pipeline_task\\(\"[a-z_]+\", \"([a-z-]+)\"").matcher(dag);
    while (m.find()) {
      used.add(m.group(1));
    }
    assertThat(used, not(is(Set.of())));
    Set<String> known = knownPipelines();
    for (String p : used) {
      assertThat("pipelines scripts/run --help lists", known, hasItem(p));
    }
  }

  @Test
  public void everyCronLineIsValidBashAndCallsAKnownPipeline() throws Exception {
    List<String> jobs = cronJobs();
    assertThat(jobs.size(), greaterThanOrEqualTo(2));
    Set<String> known = knownPipelines();
    for (String job : jobs) {
      Result syntax = Scripts.run(TIMEOUT, Map.of(), List.of("bash", "-n", "-c", job));
      assertEquals(job + "\n" + syntax, 0, syntax.exitCode);
      Matcher m = Pattern.compile("scripts/run ([a-z-]+)").matcher(job);
      assertEquals("a cron line without scripts/run: " + job, true, m.find());
      assertThat(known, hasItem(m.group(1)));
    }
  }

  /**
   * The aggregate cron line, run by bash as cron would (in a copy of WH_HOME): lock held → quiet (no
   * mail) and "skipped" in the log; a failed run → one line on stdout (cron mails it), cause in the log.
   */
  @Test
  public void theAggregateCronLineIsQuietWhenLockedAndLoudWhenFailed() throws Exception {
    String job = cronJobs().stream().filter(j -> j.contains("scripts/run aggregate")).findFirst().orElseThrow();
    Path home = tmp.newFolder("wh-home").toPath();
    Files.createSymbolicLink(home.resolve("scripts"), Scripts.ROOT.resolve("scripts"));
    Files.createSymbolicLink(home.resolve("runners"), Scripts.ROOT.resolve("runners"));
    Map<String, String> env = new HashMap<>();
    env.put("WH_HOME", home.toString());
    env.put("WH_JDBC_URL", DB.url());
    env.put("WH_PASSWORD_FILE", DB.passwordFile());
    env.put("PGUSER", DB.user());
    Path log = home.resolve("logs/aggregate.log");

    try (Connection holder = holdLock(DB, "aggregate")) {
      Result locked = Scripts.run(TIMEOUT, env, List.of("bash", "-c", job));
      assertEquals(locked.toString(), 0, locked.exitCode);
      assertThat("cron would mail this", locked.output.strip(), is(emptyString()));
      assertThat(Files.readString(log), containsString("aggregate skipped: another run holds the lock"));
    }
    Result failed = Scripts.run(TIMEOUT, env, List.of("bash", "-c", job));
    assertThat(failed.output, containsString("aggregate failed (exit 1)"));
    assertThat(Files.readString(log), containsString("fact_births"));
    JsonNode rep = JSON.readTree(home.resolve("reports/aggregate.json").toFile());
    assertEquals("FAILED", rep.get("status").asText());
  }

  /** The command part of every job line of the crontab (five time fields, then the command). */
  static List<String> cronJobs() throws Exception {
    List<String> jobs = new ArrayList<>();
    for (String line : Files.readAllLines(CRON)) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#") || l.matches("^[A-Z_]+=.*")) {
        continue;
      }
      String[] f = l.split("\\s+", 6);
      assertEquals("not a crontab job line: " + l, 6, f.length);
      assertThat("cron would treat % as a newline: " + l, f[5], not(containsString("%")));
      jobs.add(f[5]);
    }
    return jobs;
  }

  static Set<String> knownPipelines() throws Exception {
    Result help = run(null, "--help");
    Set<String> names = new LinkedHashSet<>();
    boolean inList = false;
    for (String l : help.output.split("\n")) {
      if (l.startsWith("pipelines:")) {
        inList = true;
      } else if (inList && l.startsWith("  ")) {
        names.add(l.strip().split("\\s+")[0]);
      } else if (inList) {
        break;
      }
    }
    assertThat(names, hasItem("aggregate"));
    return names;
  }
}
