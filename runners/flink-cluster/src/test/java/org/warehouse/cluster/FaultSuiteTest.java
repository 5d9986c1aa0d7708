package org.warehouse.cluster;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.cluster.Scripts.Result;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/**
 * Faults a scheduler's world produces, against real JVMs started by {@code scripts/run} and a private
 * PostgreSQL cluster ("faults") that this suite may restart: SIGTERM mid-run, kill -9 while the publish
 * waits for a lock, a server restart mid-run, and URLs carrying passwords. Each case checks what
 * production holds (every table's OID, row count and content checksum) before and after, the exit
 * code, a one-line cause without a stack trace, the report, and that the next run succeeds. At the
 * end, no output or report of the suite contains a password.
 */
public class FaultSuiteTest {
  private static final String CLUSTER = "faults";
  @ClassRule public static final TestDatabase DB = new TestDatabase(CLUSTER);
  @ClassRule public static final TestDatabase TARGET = new TestDatabase(CLUSTER);
  @ClassRule public static final TestDatabase INGEST = new TestDatabase(CLUSTER);
  @ClassRule public static final TemporaryFolder TMP = new TemporaryFolder();

  private static final Duration TIMEOUT = Duration.ofMinutes(4);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Everything the suite's runs printed or reported: searched for passwords at the end. */
  private static final StringBuilder SEEN = new StringBuilder();
  private static final String FAKE_PASSWORD = "Sup3rS3cretFaultPw";

  @BeforeClass
  public static void warehouse() throws Exception {
    ok(run(DB, "load-reference", "--runner=DirectRunner"));
    ok(run(DB, "generate", "--births=200000", "--seed=11"));
    ok(run(DB, "aggregate"));
  }

  @AfterClass
  public static void noPasswordInAnyOutputOrReport() throws Exception {
    String all = SEEN.toString();
    String real = Files.readString(Path.of(DB.passwordFile()), StandardCharsets.UTF_8).strip();
    assertTrue("the suite saw output", all.length() > 1000);
    assertThat("the server's password", all, not(containsString(real)));
    assertThat("a password given in a URL", all, not(containsString(FAKE_PASSWORD)));
  }

  // ---------------------------------------------------------------- aggregate

  @Test
  public void aggregateSigtermMidCopyCancelsDropsStagingAndChangesNothing() throws Exception {
    Map<String, String> before = production(DB, "agg\\_%");
    Path report = report("aggregate-sigterm");
    Running r = start(DB, "aggregate", "--partitions=16", "--reportFile=" + report);
    r.waitForSession(DB, "application_name IN ('warehouse-aggregate-read', 'warehouse-copy-writer') AND state = 'active'");
    Result res = r.sigterm();
    assertEquals(res.toString(), 143, res.exitCode);
    assertThat(res.output, containsString("cancelled"));
    assertCancelledReport(report);
    assertEquals("agg tables unchanged", before, production(DB, "agg\\_%"));
    assertEquals("no staging left", List.of(), workTables(DB, "agg\\_%\\_\\_%"));
    ok(run(DB, "aggregate"));
  }

  @Test
  public void aggregateKilledWhileItsPublishWaitsChangesNothingAndTheNextRunCleansUp() throws Exception {
    Map<String, String> before = production(DB, "agg\\_%");
    killWhileThePublishWaits(DB, "LOCK TABLE agg_yearly IN ACCESS SHARE MODE", "warehouse-aggregate", DB, "aggregate");
    assertEquals("agg tables unchanged", before, production(DB, "agg\\_%"));
    Result next = run(DB, "aggregate");
    ok(next);
    assertThat(next.output, containsString("left by a run that did not finish"));
    assertEquals("no staging left", List.of(), workTables(DB, "agg\\_%\\_\\_%"));
  }

  @Test
  public void aggregateThroughAServerRestartFailsInOneLineAndChangesNothing() throws Exception {
    Map<String, String> before = production(DB, "agg\\_%");
    Path report = report("aggregate-restart");
    Running r = start(DB, "aggregate", "--partitions=16", "--reportFile=" + report);
    r.waitForSession(DB, "application_name IN ('warehouse-aggregate-read', 'warehouse-copy-writer') AND state = 'active'");
    restartServer();
    assertClosedConnection(r.waitFor(), report, "aggregate");
    assertEquals("agg tables unchanged", before, production(DB, "agg\\_%"));
    ok(run(DB, "aggregate"));
    assertEquals("no staging left", List.of(), workTables(DB, "agg\\_%\\_\\_%"));
  }

  // ---------------------------------------------------------------- promote

  @Test
  public void promoteSigtermAndKillInPublishLeaveTheTargetAsItWas() throws Exception {
    String[] promote = promote();
    ok(run(null, promote));
    try (Connection c = DB.connect()) { // the source moves on: the next promote has something to publish
      Db.execute(c, "UPDATE agg_yearly SET total_births = total_births + 1");
    }
    Map<String, String> before = production(TARGET, "agg\\_%");
    killWhileThePublishWaits(TARGET, "LOCK TABLE agg_yearly IN ACCESS SHARE MODE", "warehouse-promote", null, promote);
    assertEquals("target unchanged after kill -9 in the publish", before, production(TARGET, "agg\\_%"));

    Path report = report("promote-sigterm");
    try (Connection reader = TARGET.connect()) {
      reader.setAutoCommit(false);
      Db.execute(reader, "LOCK TABLE agg_yearly IN ACCESS SHARE MODE");
      Running r = start(null, promote("--reportFile=" + report));
      r.waitForSession(TARGET, "application_name LIKE 'warehouse-promote%' AND wait_event_type = 'Lock'");
      Result res = r.sigterm();
      reader.rollback();
      assertEquals(res.toString(), 143, res.exitCode);
    }
    assertCancelledReport(report);
    assertEquals("target unchanged after SIGTERM", before, production(TARGET, "agg\\_%"));
    Result next = run(null, promote);
    ok(next);
    assertEquals("no staging left", List.of(), workTables(TARGET, "%\\_\\_%"));
    assertEquals("the source's change published", Db.queryLong(DB.connect(), "SELECT sum(total_births) FROM agg_yearly"),
        Db.queryLong(TARGET.connect(), "SELECT sum(total_births) FROM agg_yearly"));
  }

  @Test
  public void promoteThroughAServerRestartMidCopyFailsInOneLineAndLeavesTheTargetAsItWas() throws Exception {
    ok(run(null, promote()));
    try (Connection c = DB.connect()) { // every source table moves on: the next promote copies them all
      for (String t : workTables(DB, "agg\\_%")) {
        if (!t.contains("__")) {
          Db.execute(c, "UPDATE " + t + " SET total_births = total_births + 1");
        }
      }
    }
    Map<String, String> before = production(TARGET, "%");
    Path report = report("promote-restart");
    Running r = start(null, promote("--reportFile=" + report));
    r.waitForSession(DB, "application_name = 'warehouse-promote-reader' AND query LIKE 'COPY%' AND state = 'active'");
    restartServer();
    assertClosedConnection(r.waitFor(), report, "promote");
    assertEquals("every target table unchanged", before, production(TARGET, "%"));
    ok(run(null, promote()));
    assertEquals("no staging or per-run table left", List.of(), workTables(TARGET, "%\\_\\_%"));
    assertEquals("the source published", checksums(DB, "agg\\_%"), checksums(TARGET, "agg\\_%"));
  }

  /** promote of agg_* and dim_* from DB to TARGET (databases of the same cluster), plus {@code extra}. */
  private static String[] promote(String... extra) {
    List<String> args = new ArrayList<>(List.of("promote", "--include=agg_*,dim_*", "--sourceUrl=" + DB.url(),
        "--sourceUser=" + DB.user(), "--sourcePasswordFile=" + DB.passwordFile(), "--targetUrl=" + TARGET.url(),
        "--targetUser=" + TARGET.user(), "--targetPasswordFile=" + TARGET.passwordFile()));
    args.addAll(Arrays.asList(extra));
    return args.toArray(new String[0]);
  }

  // ---------------------------------------------------------------- ingest, dedupe, repartition

  @Test
  public void ingestSigtermMidFileKeepsWholeFilesOnlyAndTheNextRunLoadsTheRest() throws Exception {
    Path dir = freshIngest(300000, 2);
    TestDatabase db = INGEST;
    Path report = report("ingest-sigterm");
    Running r = start(db, "ingest", "--input=" + dir + "/*.csv", "--factTable=ingest_facts", "--reportFile=" + report);
    r.waitForSession(db, "application_name LIKE 'warehouse-ingest%' AND query LIKE 'COPY%' AND state = 'active'");
    Result res = r.sigterm();
    assertEquals(res.toString(), 143, res.exitCode);
    assertCancelledReport(report);
    try (Connection c = db.connect()) {
      long ledger = Db.queryLong(c, "SELECT coalesce(sum(rows_loaded), 0) FROM ingest_files");
      assertEquals("only whole files are visible", ledger, Db.queryLong(c, "SELECT count(*) FROM ingest_facts"));
    }
    ok(run(db, "ingest", "--input=" + dir + "/*.csv", "--factTable=ingest_facts"));
    try (Connection c = db.connect()) {
      assertEquals(300000, Db.queryLong(c, "SELECT count(*) FROM ingest_facts"));
      assertEquals(300000, Db.queryLong(c, "SELECT count(DISTINCT birth_id) FROM ingest_facts"));
    }
  }

  @Test
  public void ingestThroughAServerRestartMidFileKeepsWholeFilesAndSaysWhichCommitted() throws Exception {
    Path dir = freshIngest(400000, 4);
    Map<String, Long> lines = records(dir);
    Path report = report("ingest-restart");
    Running r = start(INGEST, "ingest", "--input=" + dir + "/*.csv", "--factTable=ingest_facts", "--reportFile=" + report);
    String midFile = "application_name = 'warehouse-ingest-file' AND query LIKE 'COPY%' "
        + "AND state IN ('active', 'idle in transaction')";
    r.waitForSession(INGEST, midFile); // the ledger exists
    r.waitForSession(INGEST, midFile + " AND (SELECT count(*) FROM ingest_files) > 0"); // a file committed, another loading
    restartServer();
    Result res = r.waitFor();
    assertFailedInOneLine(res, "ingest");
    Set<String> committed = wholeFilesOnly(INGEST, lines);
    assertTrue("some files committed, not all: " + committed, !committed.isEmpty() && committed.size() < lines.size());
    String said = committed.size() + " file(s) committed before the failure stay loaded";
    assertThat(res.output, containsString(said + " (" + String.join(", ", committed) + ")"));
    JsonNode rep = readReport(report);
    assertEquals("FAILED", rep.get("status").asText());
    assertThat(rep.get("error").asText(), containsString(said + " (" + String.join(", ", committed) + ")"));
    for (String f : lines.keySet()) {
      assertEquals(f, committed.contains(f) ? "new" : "not loaded", rep.get("details").get("file:" + f).get("action").asText());
    }
    Result next = run(INGEST, "ingest", "--input=" + dir + "/*.csv", "--factTable=ingest_facts");
    ok(next);
    assertThat(next.output, containsString((lines.size() - committed.size()) + " new, 0 to replace, "
        + committed.size() + " already loaded"));
    assertEquals("every file whole", lines.keySet(), wholeFilesOnly(INGEST, lines));
    assertEquals("no run or load table left", List.of(), workTables(INGEST, "%\\_\\_%"));
  }

  @Test
  public void ingestKilledWhileItsPublishWaitsChangesNothingAndTheNextRunCleansUp() throws Exception {
    Path dir = freshIngest(30000, 3);
    Map<String, Long> lines = records(dir);
    String first = lines.keySet().iterator().next();
    ok(run(INGEST, "ingest", "--input=" + dir.resolve(first), "--factTable=ingest_facts")); // production has a file
    Map<String, String> before = production(INGEST, "%");
    // attaching a file's bronze partition waits for a SHARE lock
    killWhileThePublishWaits(INGEST, "LOCK TABLE bronze_sinasc_raw IN SHARE MODE", "warehouse-ingest", INGEST, "ingest",
        "--input=" + dir + "/*.csv", "--factTable=ingest_facts");
    assertEquals("ingest's tables unchanged", before, production(INGEST, "%"));
    assertEquals("only the first file", Set.of(first), wholeFilesOnly(INGEST, lines));
    assertThat("the killed run left its run table and a load table", workTables(INGEST, "%\\_\\_%").size(), greaterThan(1));
    Result next = run(INGEST, "ingest", "--input=" + dir + "/*.csv", "--factTable=ingest_facts");
    ok(next);
    assertThat(next.output, containsString("a bronze load table left by a run that did not finish"));
    assertThat(next.output, containsString("ingest: dropping ingest_files__run_"));
    assertEquals("every file whole", lines.keySet(), wholeFilesOnly(INGEST, lines));
    assertEquals("no run or load table left", List.of(), workTables(INGEST, "%\\_\\_%"));
  }

  /**
   * ingest's database as new (no tables, ledger or sequence of an earlier case) and a new directory of
   * {@code files} clean CSV files holding {@code births} records.
   */
  private static Path freshIngest(int births, int files) throws Exception {
    try (Connection c = INGEST.connect()) {
      Db.execute(c, "DROP SCHEMA public CASCADE");
      Db.execute(c, "CREATE SCHEMA public");
    }
    Path dir = TMP.newFolder().toPath();
    ok(run(null, "generate-csv", "--out=" + dir, "--births=" + births, "--files=" + files, "--badRate=0"));
    return dir;
  }

  /** Each CSV file of {@code dir} by name: its records, counted by the test (lines after the header). */
  private static Map<String, Long> records(Path dir) throws Exception {
    Map<String, Long> out = new TreeMap<>();
    try (var files = Files.list(dir)) {
      for (Path f : files.filter(f -> f.toString().endsWith(".csv")).toList()) {
        byte[] b = Files.readAllBytes(f);
        long newlines = 0;
        for (byte x : b) {
          newlines += x == '\n' ? 1 : 0;
        }
        out.put(f.getFileName().toString(), newlines - (b.length > 0 && b[b.length - 1] == '\n' ? 1 : 0));
      }
    }
    assertTrue("files written", out.size() > 1);
    return out;
  }

  /**
   * Asserts that ingest_facts and bronze hold whole files only: per file in the ledger, as many fact rows
   * (by birth_id range) and bronze rows (by file_id) as the file has records, and no other rows.
   * Returns the files in the ledger.
   */
  private static Set<String> wholeFilesOnly(TestDatabase db, Map<String, Long> records) throws Exception {
    Map<String, String> seen = new TreeMap<>();
    Map<String, String> whole = new TreeMap<>();
    long total = 0;
    try (Connection c = db.connect(); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT f.file_name, (SELECT count(*) FROM ingest_facts x WHERE x.birth_id "
            + ">= f.file_id * 1000000000 AND x.birth_id < (f.file_id + 1) * 1000000000) || '/' || (SELECT count(*) "
            + "FROM bronze_sinasc_raw b WHERE b.file_id = f.file_id) FROM ingest_files f")) {
      while (rs.next()) {
        String f = rs.getString(1);
        seen.put(f, rs.getString(2));
        whole.put(f, records.get(f) + "/" + records.get(f));
        total += records.get(f);
      }
      assertEquals("each file in the ledger whole in the fact table and bronze", whole, seen);
      assertEquals("no row of a file outside the ledger", total + "/" + total, Db.queryString(c,
          "SELECT (SELECT count(*) FROM ingest_facts) || '/' || (SELECT count(*) FROM bronze_sinasc_raw)"));
    }
    return seen.keySet();
  }

  @Test
  public void dedupeSigtermLeavesTheTableAsItWas() throws Exception {
    createKids();
    Map<String, String> before = production(DB, "kids%");
    Path report = report("dedupe-sigterm");
    Running r = start(DB, "dedupe", "--table=public.kids", "--naturalKey=parent_pk,child_id", "--reportFile=" + report);
    r.waitForSession(DB, "application_name LIKE 'warehouse-dedupe%' AND state = 'active' AND query NOT LIKE '%pg_advisory%'");
    Result res = r.sigterm();
    assertEquals(res.toString(), 143, res.exitCode);
    assertCancelledReport(report);
    assertEquals("kids unchanged", before, production(DB, "kids%"));
    dedupeKids();
  }

  @Test
  public void repartitionSigtermLeavesTheTableAsItWasAndWritable() throws Exception {
    createBig();
    Map<String, String> before = production(DB, "big");
    Path report = report("repartition-sigterm");
    Running r = start(DB, "repartition", "--table=public.big", "--partitionColumn=d", "--rangeRows=20000",
        "--reportFile=" + report);
    r.waitForSession(DB, "application_name LIKE 'warehouse-repartition%' AND query LIKE 'INSERT INTO%' AND state = 'active'");
    Result res = r.sigterm();
    assertEquals(res.toString(), 143, res.exitCode);
    assertCancelledReport(report);
    assertEquals("big unchanged", before, production(DB, "big"));
    try (Connection c = DB.connect()) {
      Db.execute(c, "INSERT INTO public.big VALUES (2000001, date '2021-06-01', 'after')"); // writable, no stray trigger
      Db.execute(c, "DELETE FROM public.big WHERE id = 2000001");
    }
    repartitionBig();
  }

  @Test
  public void dedupeKilledWhileItsPublishWaitsChangesNothingAndTheNextRunCleansUp() throws Exception {
    createKids();
    Map<String, String> before = production(DB, "kids%");
    killWhileThePublishWaits(DB, "LOCK TABLE public.kids IN ACCESS SHARE MODE", "warehouse-dedupe", DB, "dedupe",
        "--table=public.kids", "--naturalKey=parent_pk,child_id");
    assertEquals("kids unchanged", before, production(DB, "kids%"));
    assertThat("the killed run left its work tables", workTables(DB, "kids\\_\\_%"), not(empty()));
    assertThat(dedupeKids(), containsString("left by a run that did not finish"));
    assertEquals("no work table left", List.of(), workTables(DB, "kids\\_\\_%"));
  }

  @Test
  public void repartitionKilledWhileItsSwitchWaitsLeavesTheTableWritableAndTheNextRunCleansUp() throws Exception {
    createBig();
    Map<String, String> before = production(DB, "big");
    killWhileThePublishWaits(DB, "LOCK TABLE public.big IN ACCESS SHARE MODE", "warehouse-repartition", DB,
        "repartition", "--table=public.big", "--partitionColumn=d");
    assertEquals("big unchanged", before, production(DB, "big"));
    assertThat("the killed run left its work tables", workTables(DB, "big\\_\\_%"), not(empty()));
    try (Connection c = DB.connect()) { // writable; the capture trigger left behind only logs keys
      Db.execute(c, "INSERT INTO public.big VALUES (2000001, date '2021-06-01', 'after')");
      Db.execute(c, "UPDATE public.big SET payload = 'again' WHERE id = 2000001");
      Db.execute(c, "DELETE FROM public.big WHERE id = 2000001");
    }
    assertEquals("big as it was", before, production(DB, "big"));
    String next = repartitionBig();
    assertThat(next, containsString("dropping the capture trigger big__repartition_capture on big, left by a run "
        + "that did not finish"));
    assertThat(next, containsString("repartition: dropping big__repartition_"));
    try (Connection c = DB.connect()) {
      assertEquals("no capture trigger or function left", 0, Db.queryLong(c, "SELECT (SELECT count(*) FROM pg_trigger "
          + "WHERE tgname LIKE '%repartition_capture') + (SELECT count(*) FROM pg_proc WHERE proname LIKE '%repartition_capture')"));
    }
    assertEquals("no work table left", List.of(), workTables(DB, "big\\_\\_%"));
  }

  /** A dedupe run of kids that succeeds with one row per key; its output. */
  private static String dedupeKids() throws Exception {
    Result r = run(DB, "dedupe", "--table=public.kids", "--naturalKey=parent_pk,child_id");
    ok(r);
    try (Connection c = DB.connect()) {
      assertEquals("one row per (parent_pk, child_id)", 600000, Db.queryLong(c, "SELECT count(*) FROM public.kids"));
    }
    return r.output;
  }

  /** A repartition run of big that succeeds: big partitioned, every row there; its output. */
  private static String repartitionBig() throws Exception {
    Result r = run(DB, "repartition", "--table=public.big", "--partitionColumn=d");
    ok(r);
    try (Connection c = DB.connect()) {
      assertEquals("p", Db.queryString(c, "SELECT relkind::text FROM pg_class WHERE oid = 'public.big'::regclass"));
      assertEquals(1000000, Db.queryLong(c, "SELECT count(*) FROM public.big"));
    }
    return r.output;
  }

  /** 1.5M child rows, 600,000 distinct (parent_pk, child_id) keys. */
  private static void createKids() throws Exception {
    try (Connection c = DB.connect()) {
      Db.execute(c, "DROP TABLE IF EXISTS public.kids, public.kids_dedupe_backup");
      for (String t : workTables(DB, "kids\\_\\_%")) { // a failed case's
        Db.execute(c, "DROP TABLE IF EXISTS public." + t);
      }
      Db.execute(c, "CREATE TABLE public.kids (id bigserial, parent_pk bigint, child_id bigint, payload text, "
          + "synced_at timestamptz DEFAULT now())");
      Db.execute(c, "INSERT INTO public.kids (parent_pk, child_id, payload) "
          + "SELECT g % 200000, g % 3, repeat('p', 200) || g FROM generate_series(1, 1500000) g");
      Db.execute(c, "ANALYZE public.kids");
    }
  }

  /** 1M rows over four years of dates, keyed by id. */
  private static void createBig() throws Exception {
    try (Connection c = DB.connect()) {
      Db.execute(c, "DROP TABLE IF EXISTS public.big, public.big_unpartitioned_backup CASCADE");
      Db.execute(c, "DROP FUNCTION IF EXISTS public.big__repartition_capture() CASCADE"); // a failed case's
      for (String t : workTables(DB, "big\\_\\_%")) {
        Db.execute(c, "DROP TABLE IF EXISTS public." + t);
      }
      Db.execute(c, "CREATE TABLE public.big (id bigint PRIMARY KEY, d date NOT NULL, payload text)");
      Db.execute(c, "INSERT INTO public.big SELECT g, date '2020-01-01' + (g % 1461), repeat('x', g % 50) "
          + "FROM generate_series(1, 1000000) g");
      Db.execute(c, "ANALYZE public.big");
    }
  }

  // ---------------------------------------------------------------- server restarts

  @Test
  public void dedupeThroughAServerRestartFailsInOneLineAndChangesNothing() throws Exception {
    createKids();
    Map<String, String> before = production(DB, "kids%");
    Running r = start(DB, "dedupe", "--table=public.kids", "--naturalKey=parent_pk,child_id");
    r.waitForSession(DB, "application_name LIKE 'warehouse-dedupe%' AND state = 'active' AND query NOT LIKE '%pg_advisory%'");
    restartServer();
    assertFailedInOneLine(r.waitFor(), "dedupe");
    assertEquals("kids unchanged", before, production(DB, "kids%"));
    dedupeKids();
  }

  @Test
  public void repartitionThroughAServerRestartFailsInOneLineAndChangesNothing() throws Exception {
    createBig();
    Map<String, String> before = production(DB, "big");
    Running r = start(DB, "repartition", "--table=public.big", "--partitionColumn=d", "--rangeRows=20000");
    r.waitForSession(DB, "application_name LIKE 'warehouse-repartition%' AND query LIKE 'INSERT INTO%' AND state = 'active'");
    restartServer();
    assertFailedInOneLine(r.waitFor(), "repartition");
    assertEquals("big unchanged", before, production(DB, "big"));
    repartitionBig();
  }

  /**
   * kill -9 of a run while its publish waits for a lock: a reader's transaction on {@code db} holds
   * {@code lock} (a dashboard's long query); the run ({@code runDb}'s connection options, or none, and
   * {@code args}) starts; once a session of {@code app}% waits for a lock, the JVM is killed; then the
   * reader ends, and the run's sessions are awaited gone (a backend waiting for a lock does not notice
   * its client died: it gets the lock, runs its statement, and ends when it next reads).
   */
  private static void killWhileThePublishWaits(TestDatabase db, String lock, String app, TestDatabase runDb,
      String... args) throws Exception {
    try (Connection reader = db.connect()) {
      reader.setAutoCommit(false);
      Db.execute(reader, lock);
      Running r = start(runDb, args);
      r.waitForSession(db, "application_name LIKE '" + app + "%' AND wait_event_type = 'Lock'");
      r.kill9();
      // the dead run's waiting statement now gets its lock and runs; its session ends at its next read
      reader.rollback();
    }
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    try (Connection c = db.connect()) {
      while (Db.queryLong(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '" + app + "%'") > 0) {
        assertTrue("the killed run's sessions did not end", System.nanoTime() < deadline);
        Thread.sleep(50);
      }
    }
  }

  /** Exit 1, one line naming the connection the server closed, no stack trace; a FAILED report saying so. */
  private static void assertClosedConnection(Result res, Path report, String pipeline) throws Exception {
    assertEquals(res.toString(), 1, res.exitCode);
    assertThat(res.output, containsString(pipeline + " failed: the server closed the connection"));
    assertThat("no stack trace", res.output, not(containsString("\tat ")));
    JsonNode rep = readReport(report);
    assertEquals("FAILED", rep.get("status").asText());
    assertThat(rep.get("error").asText(), containsString("closed the connection"));
  }

  /** Exit 1 and one line naming the lost connection (or the run lock lost with it), no stack trace. */
  private static void assertFailedInOneLine(Result res, String pipeline) {
    assertEquals(res.toString(), 1, res.exitCode);
    assertTrue(res.toString(), res.output.contains(pipeline + " failed: the server closed the connection")
        || res.output.contains(pipeline + " failed: lost the run lock"));
    assertThat("no stack trace", res.output, not(containsString("\tat ")));
  }

  // ---------------------------------------------------------------- secrets

  @Test
  public void urlsWithPasswordsAreRefusedWithoutEchoingThem() throws Exception {
    String host = DB.url().replace("jdbc:postgresql://", "");
    for (String url : List.of("jdbc:postgresql://" + DB.user() + ":" + FAKE_PASSWORD + "@" + host,
        DB.url() + "?password=" + FAKE_PASSWORD)) {
      Path report = report("secret");
      Result r = run(null, "aggregate", "--jdbcUrl=" + url, "--reportFile=" + report);
      assertEquals(r.toString(), 2, r.exitCode);
      assertThat(r.output, containsString("must not contain a password"));
      Result p = run(null, "promote", "--sourceUrl=" + url, "--targetUrl=" + TARGET.url());
      assertEquals(p.toString(), 2, p.exitCode);
    }
  }

  // ---------------------------------------------------------------- harness

  private static Path report(String name) throws Exception {
    return TMP.getRoot().toPath().resolve(name + "-" + System.nanoTime() + ".json");
  }

  /** The run report at {@code report} (kept for the password check at the end). */
  private static JsonNode readReport(Path report) throws Exception {
    JsonNode rep = JSON.readTree(report.toFile());
    SEEN.append(rep.toString()).append('\n');
    return rep;
  }

  private static void assertCancelledReport(Path report) throws Exception {
    JsonNode rep = readReport(report);
    assertEquals(rep.toString(), "CANCELLED", rep.get("status").asText());
    assertEquals(143, rep.get("exitCode").asInt());
  }

  private static void ok(Result r) {
    assertEquals(r.toString(), 0, r.exitCode);
  }

  /** Every table matching {@code like}: OID, row count and content checksum, by name. */
  static Map<String, String> production(TestDatabase db, String like) throws Exception {
    Map<String, String> out = new TreeMap<>();
    try (Connection c = db.connect(); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT relname, oid FROM pg_class WHERE relkind IN ('r', 'p') "
            + "AND NOT relispartition AND relnamespace = 'public'::regnamespace AND relname LIKE '" + like + "' "
            + "AND relname NOT LIKE '%\\_\\_%'")) {
      while (rs.next()) {
        String t = "public." + rs.getString(1);
        out.put(t, rs.getLong(2) + "/" + Db.queryString(c, "SELECT count(*) || '/' || "
            + "coalesce(sum(hashtextextended(t::text, 0)), 0) FROM " + t + " AS t"));
      }
    }
    return out;
  }

  /** {@link #production} without the OIDs: row counts and checksums, comparable across databases. */
  static Map<String, String> checksums(TestDatabase db, String like) throws Exception {
    Map<String, String> out = new TreeMap<>();
    production(db, like).forEach((t, v) -> out.put(t, v.substring(v.indexOf('/') + 1)));
    return out;
  }

  /** Tables (of any kind) named like a run's staging or work tables. */
  static List<String> workTables(TestDatabase db, String like) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = db.connect(); Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition "
            + "AND relnamespace = 'public'::regnamespace AND relname LIKE '" + like + "' ORDER BY 1")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static void restartServer() throws Exception {
    for (String verb : List.of("stop", "start")) {
      Process p = new ProcessBuilder(Scripts.ROOT.resolve("scripts/local-pg").toString(), verb, CLUSTER)
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      assertTrue("local-pg " + verb + " in time", p.waitFor(120, TimeUnit.SECONDS));
      assertEquals("local-pg " + verb, 0, p.exitValue());
    }
  }

  static Result run(TestDatabase db, String... args) throws Exception {
    List<String> cmd = command(db, args);
    Result r = Scripts.run(TIMEOUT, Map.of(), cmd);
    SEEN.append(r.output).append('\n');
    return r;
  }

  private static List<String> command(TestDatabase db, String... args) {
    List<String> cmd = new ArrayList<>();
    cmd.add(Scripts.ROOT.resolve("scripts/run").toString());
    cmd.addAll(Arrays.asList(args));
    if (db != null) {
      cmd.addAll(Arrays.asList(db.connectionArgs()));
    }
    return cmd;
  }

  static Running start(TestDatabase db, String... args) throws Exception {
    File out = TMP.newFile();
    return new Running(Scripts.start(Map.of(), command(db, args), out), out);
  }

  /** A launcher JVM running in the background (scripts/run execs java: the process is the JVM). */
  static final class Running {
    final Process process;
    final File out;

    Running(Process process, File out) {
      this.process = process;
      this.out = out;
    }

    /** Waits until a session of {@code db} matches {@code condition} (a pg_stat_activity predicate). */
    void waitForSession(TestDatabase db, String condition) throws Exception {
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      try (Connection c = db.connect()) {
        while (Db.queryLong(c, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND "
            + condition) == 0) {
          assertTrue("the run ended before the fault:\n" + output(), process.isAlive());
          assertTrue("not seen in time: " + condition + "\n" + output(), System.nanoTime() < deadline);
          Thread.sleep(20);
        }
      }
    }

    Result sigterm() throws Exception {
      process.destroy(); // SIGTERM, what Airflow and cron timeouts send
      return waitFor();
    }

    Result waitFor() throws Exception {
      if (!process.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        throw new AssertionError("the run did not end in time:\n" + output());
      }
      String o = output();
      SEEN.append(o).append('\n');
      return new Result(process.exitValue(), o);
    }

    /** kill -9 of the JVM (and any child); its server sessions live on until they next read from it. */
    void kill9() throws Exception {
      process.descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor();
      SEEN.append(output()).append('\n');
    }

    String output() throws Exception {
      return Files.readString(out.toPath(), StandardCharsets.UTF_8);
    }
  }
}
