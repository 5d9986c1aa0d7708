package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.testing.TestDatabase;

/**
 * promote under faults, through the launcher ({@link Main#run}) as a scheduler runs it: the run lock's
 * connection or one of the run's other connections ended by the server mid-run. Each case checks the
 * exit code, the one-line cause, production by content and OID before and after (unchanged, or the
 * complete new state), and that the next run succeeds. Synchronisation is by polling pg_locks and
 * pg_stat_activity with bounded waits, never by sleeping for a guessed time.
 */
public class PromoteFaultTest {
  @Rule public final TestDatabase source = new TestDatabase();
  @Rule public final TestDatabase target = new TestDatabase("test2");
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  static final List<String> TABLES = List.of("dim_regions", "agg_monthly", "agg_yearly", "agg_zz_big");
  static final long WAIT_MS = 120_000;

  @Before
  public void createSourceAndPromoteIt() throws Exception {
    try (Connection c = source.connect()) {
      Db.execute(c, "CREATE TABLE dim_regions (region_code int PRIMARY KEY, name text NOT NULL)");
      Db.execute(c, "INSERT INTO dim_regions SELECT g, 'Region ' || g FROM generate_series(1, 5) g");
      Db.execute(c, "CREATE TABLE agg_monthly (year int, month int, births bigint NOT NULL, PRIMARY KEY (year, month))");
      Db.execute(c, "INSERT INTO agg_monthly SELECT 2015 + g / 12, g % 12 + 1, g * 7 FROM generate_series(0, 119) g");
      Db.execute(c, "CREATE TABLE agg_yearly (year int PRIMARY KEY, births bigint NOT NULL)");
      Db.execute(c, "INSERT INTO agg_yearly SELECT 2015 + g, g * 1000 FROM generate_series(0, 9) g");
      Db.execute(c, "CREATE TABLE agg_zz_big (id int PRIMARY KEY, code int NOT NULL, label text)");
      Db.execute(c, "INSERT INTO agg_zz_big SELECT g, g % 97, md5(g::text) FROM generate_series(1, 1000) g");
    }
    assertThat(promote().code, equalTo(Main.OK));
    try (Connection c = source.connect()) { // every table changes: the next run copies them all
      Db.execute(c, "UPDATE dim_regions SET name = upper(name)");
      Db.execute(c, "UPDATE agg_monthly SET births = births + 1");
      Db.execute(c, "UPDATE agg_yearly SET births = births + 1");
      Db.execute(c, "INSERT INTO agg_zz_big SELECT g, g % 97, md5(g::text) FROM generate_series(1001, 4000) g");
    }
  }

  /**
   * The reproduction: (1) a reader holds agg_yearly so run A's publish waits; (2) A's lock backend is
   * terminated; (3) run B (agg_zz_big only) starts and is not refused; (4) the reader ends. A must fail
   * with "lost the run lock", never publish; B publishes its table; the next run succeeds.
   */
  @Test
  public void aRunThatLostItsLockPublishesNothingWhileTheRunThatGotInSucceeds() throws Exception {
    Map<String, String> before = state();
    Run a;
    Run b;
    try (Connection reader = target.connect();
        Connection watch = target.connect()) {
      reader.setAutoCommit(false);
      Db.queryLong(reader, "SELECT count(*) FROM agg_yearly");
      a = Run.start(this, "--lockTimeoutSeconds=120", "--reportFile=" + tmp.getRoot() + "/a.json");
      awaitTrue("run A's publish waits for the reader", a, () -> 1 == Db.queryLong(watch,
          "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid WHERE NOT l.granted "
              + "AND l.relation = 'agg_yearly'::regclass AND s.application_name = 'warehouse-promote'"));
      assertThat(Db.queryLong(watch, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
          + "WHERE application_name = 'warehouse-lock-promote' AND datname = current_database()"), equalTo(1L));
      awaitTrue("run A's lock session is gone", a, () -> 0 == lockSessions(watch));
      b = Run.start(this, "--include=agg_zz_big");
      awaitTrue("run B got the lock (or already finished)", null, () -> b.finished() || 1 == lockSessions(watch));
      reader.rollback();
    }
    a.join();
    b.join();

    assertThat(a.err, a.code, equalTo(Main.FAILED));
    assertThat(a.err, containsString("promote failed: lost the run lock (connection to " + target.databaseName()));
    assertThat(a.err, containsString("nothing published"));
    assertThat(Files.readString(Path.of(tmp.getRoot() + "/a.json")), containsString("lost the run lock"));
    assertThat(b.err, b.code, equalTo(Main.OK));
    Map<String, String> after = state();
    for (String t : List.of("dim_regions", "agg_monthly", "agg_yearly")) {
      assertThat(t + " is as it was (content and OID)", after.get(t), equalTo(before.get(t)));
    }
    assertThat("agg_zz_big: run B's complete copy", content(target, "agg_zz_big"), equalTo(content(source, "agg_zz_big")));
    assertNoStaging();
    assertNextRunPublishesTheSource();
  }

  /** A copy worker's connection to the target ends while it loads rows: exit 1, one line, production unchanged. */
  @Test
  public void aCopyWorkerLosingItsConnectionFailsTheRunAndChangesNothing() throws Exception {
    Map<String, String> before = state();
    holdInsertsIntoStaging("agg_zz_big");
    try (Connection gate = target.connect()) {
      Run run = startHeldAtGate(gate, 4242, "a copy worker waits inside its COPY", "warehouse-copy-writer");
      terminateWaiting(gate, "warehouse-copy-writer");
      Db.execute(gate, "SELECT pg_advisory_unlock(4242)");
      run.join();
      assertThat(run.err, run.code, equalTo(Main.FAILED));
      assertThat(run.err, containsString("promote failed: the server closed the connection "
          + "(restart or terminated backend?) while copying the tables"));
      assertThat(run.err.strip().lines().count(), equalTo(2L)); // the cause, and where the stack trace is
    }
    assertThat(state(), equalTo(before));
    dropEventTrigger();
    assertNextRunPublishesTheSource();
  }

  /** The target connection that creates a staging table (a worker's) ends while it does. */
  @Test
  public void theTargetConnectionEndingFailsTheRunAndChangesNothing() throws Exception {
    Map<String, String> before = state();
    holdCreateOfStaging("agg_yearly");
    try (Connection gate = target.connect()) {
      Run run = startHeldAtGate(gate, 4243, "the run's CREATE TABLE waits", "warehouse-promote-verify");
      terminateWaiting(gate, "warehouse-promote-verify");
      Db.execute(gate, "SELECT pg_advisory_unlock(4243)");
      run.join();
      assertThat(run.err, run.code, equalTo(Main.FAILED));
      assertThat(run.err, containsString("promote failed: the server closed the connection "
          + "(restart or terminated backend?) while creating the staging tables"));
    }
    assertThat(state(), equalTo(before));
    assertNoStaging();
    dropEventTrigger();
    assertNextRunPublishesTheSource();
  }

  /**
   * The source session, whose transaction holds the snapshot every reader imports, ends while the run
   * creates its staging tables: the copy cannot read, and the run says why in one line.
   */
  @Test
  public void theSourceSessionEndingFailsTheRunAndChangesNothing() throws Exception {
    Map<String, String> before = state();
    holdCreateOfStaging("agg_yearly");
    try (Connection gate = target.connect();
        Connection src = source.connect()) {
      Run run = startHeldAtGate(gate, 4243, "the run's CREATE TABLE waits", "warehouse-promote-verify");
      assertThat(Db.queryLong(src, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
          + "WHERE application_name = 'warehouse-promote' AND datname = current_database()"), equalTo(1L));
      awaitTrue("the source session is gone", run, () -> 0 == Db.queryLong(src, "SELECT count(*) FROM "
          + "pg_stat_activity WHERE application_name = 'warehouse-promote' AND datname = current_database()"));
      Db.execute(gate, "SELECT pg_advisory_unlock(4243)");
      run.join();
      assertThat(run.err, run.code, equalTo(Main.FAILED));
      assertThat(run.err, containsString("promote failed: the server closed the connection (restart or terminated "
          + "backend?) while copying the tables (the source session holding the run's snapshot ended)"));
    }
    assertThat(state(), equalTo(before));
    assertNoStaging();
    dropEventTrigger();
    assertNextRunPublishesTheSource();
  }

  /** A dead run's staging table is named, dropped, and the run goes on. */
  @Test
  public void aDeadRunsStagingIsReportedAndDropped() throws Exception {
    try (Connection t = target.connect()) {
      Db.execute(t, "CREATE TABLE agg_yearly__staging_dead01 (x int)");
    }
    Run[] run = new Run[1];
    String out = PromotePipelineTest.captureStdout(() -> run[0] = promote());
    assertThat(run[0].err, run[0].code, equalTo(Main.OK));
    assertThat(out, containsString("promote: dropping agg_yearly__staging_dead01, left by a run that did not finish"));
    assertNoStaging();
  }

  @Test
  public void countsAndTimeoutsBelowOneAreUsageErrorsBeforeAnyConnection() throws Exception {
    for (String bad : List.of("--rowsPerRange=0", "--lockTimeoutSeconds=0", "--lockTimeoutSeconds=-1")) {
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = Main.run(new String[] {"promote", "--sourceUrl=jdbc:postgresql://127.0.0.1:1/nowhere",
          "--targetUrl=jdbc:postgresql://127.0.0.1:1/nowhere", "--runner=DirectRunner", bad},
          new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
      String option = bad.substring(2, bad.indexOf('='));
      assertThat(bad, code, equalTo(Main.USAGE));
      assertThat(err.toString(StandardCharsets.UTF_8), containsString("--" + option + " must be at least 1 (got "
          + bad.substring(bad.indexOf('=') + 1) + ")"));
    }
  }

  // --- faults, oracles and helpers ----------------------------------------------------------

  /** An event trigger gives the staging copy of {@code table} a row trigger that waits for advisory lock 4242. */
  void holdInsertsIntoStaging(String table) throws SQLException {
    try (Connection t = target.connect()) {
      Db.execute(t, "CREATE FUNCTION wait_for_gate() RETURNS trigger LANGUAGE plpgsql AS "
          + "$$ BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$");
      Db.execute(t, "CREATE FUNCTION gate() RETURNS event_trigger LANGUAGE plpgsql AS $$ DECLARE o text; BEGIN "
          + "SELECT object_identity INTO o FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' "
          + "AND object_identity LIKE 'public." + table.replace("_", "\\_") + "\\_\\_staging\\_%'; "
          + "IF o IS NOT NULL THEN EXECUTE format('CREATE TRIGGER gate BEFORE INSERT ON %s FOR EACH ROW "
          + "EXECUTE FUNCTION wait_for_gate()', o); END IF; END $$");
      Db.execute(t, "CREATE EVENT TRIGGER gate ON ddl_command_end EXECUTE FUNCTION gate()");
    }
  }

  /** An event trigger makes the CREATE TABLE of {@code table}'s staging copy wait for advisory lock 4243. */
  void holdCreateOfStaging(String table) throws SQLException {
    try (Connection t = target.connect()) {
      Db.execute(t, "CREATE FUNCTION gate() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
          + "IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' "
          + "AND object_identity LIKE 'public." + table.replace("_", "\\_") + "\\_\\_staging\\_%') THEN "
          + "PERFORM pg_advisory_xact_lock_shared(4243); END IF; END $$");
      Db.execute(t, "CREATE EVENT TRIGGER gate ON ddl_command_end EXECUTE FUNCTION gate()");
    }
  }

  /** Takes advisory lock {@code key} on {@code gate}, starts a run and waits until a session {@code app} waits for a lock. */
  Run startHeldAtGate(Connection gate, int key, String what, String app) throws Exception {
    Db.execute(gate, "SELECT pg_advisory_lock(" + key + ")");
    Run run = Run.start(this);
    awaitTrue(what, run, () -> 1 <= Db.queryLong(gate, "SELECT count(*) FROM pg_stat_activity WHERE "
        + "application_name = '" + app + "' AND wait_event_type = 'Lock' AND datname = current_database()"));
    return run;
  }

  static void terminateWaiting(Connection c, String app) throws SQLException {
    Db.execute(c, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '" + app
        + "' AND wait_event_type = 'Lock' AND datname = current_database()");
  }

  void dropEventTrigger() throws SQLException {
    try (Connection t = target.connect()) {
      Db.execute(t, "DROP EVENT TRIGGER gate");
    }
  }

  static long lockSessions(Connection c) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity s ON s.pid = l.pid "
        + "WHERE l.locktype = 'advisory' AND l.granted AND s.application_name = 'warehouse-lock-promote' "
        + "AND s.datname = current_database()");
  }

  /** Per table: its OID and content on the target, as PostgreSQL renders it. */
  Map<String, String> state() throws SQLException {
    Map<String, String> m = new LinkedHashMap<>();
    try (Connection t = target.connect()) {
      for (String table : TABLES) {
        m.put(table, Db.queryLong(t, "SELECT '" + table + "'::regclass::oid::bigint") + " " + content(t, table));
      }
    }
    return m;
  }

  static String content(TestDatabase db, String table) throws SQLException {
    try (Connection c = db.connect()) {
      return content(c, table);
    }
  }

  /** Row count and an md5 of every row's text form, sorted: the oracle, independent of promote's checksum. */
  static String content(Connection c, String table) throws SQLException {
    return Db.queryString(c, "SELECT count(*) || ' rows, md5 ' || md5(coalesce(string_agg(t::text, E'\\n' "
        + "ORDER BY t::text), '')) FROM " + table + " t");
  }

  void assertNoStaging() throws SQLException {
    try (Connection t = target.connect()) {
      assertThat(PromotePipelineTest.stagingTables(t), equalTo(List.of()));
    }
  }

  void assertNextRunPublishesTheSource() throws Exception {
    Run next = promote();
    assertThat(next.err, next.code, equalTo(Main.OK));
    for (String table : TABLES) {
      assertThat(table, content(target, table), equalTo(content(source, table)));
    }
    assertNoStaging();
  }

  Run promote(String... extra) throws Exception {
    Run r = Run.start(this, extra);
    r.join();
    return r;
  }

  List<String> args(String... extra) {
    List<String> a = new ArrayList<>(List.of("promote",
        "--sourceUrl=" + source.url(), "--sourceUser=" + source.user(), "--sourcePasswordFile=" + source.passwordFile(),
        "--targetUrl=" + target.url(), "--targetUser=" + target.user(), "--targetPasswordFile=" + target.passwordFile(),
        "--rowsPerRange=500", "--runner=DirectRunner"));
    a.addAll(List.of(extra));
    return a;
  }

  /** Polls {@code condition} every 20 ms until it holds; fails after {@link #WAIT_MS} or when {@code run} ended first. */
  static void awaitTrue(String what, Run run, Callable<Boolean> condition) throws Exception {
    long deadline = System.currentTimeMillis() + WAIT_MS;
    while (!condition.call()) {
      if (run != null && run.finished()) {
        throw new AssertionError("waiting for: " + what + ", the run ended (exit " + run.code + "): " + run.err);
      }
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("not seen within " + WAIT_MS + " ms: " + what);
      }
      Thread.sleep(20);
    }
  }

  /** One run of the launcher on its own thread, with its exit code and stderr (progress goes to System.out). */
  static final class Run {
    private final Thread thread;
    private final ByteArrayOutputStream errBuf = new ByteArrayOutputStream();
    private final AtomicInteger exit = new AtomicInteger(-1);
    String err;
    int code;

    private Run(List<String> args) {
      thread = new Thread(() -> exit.set(Main.run(args.toArray(new String[0]),
          new PrintStream(new ByteArrayOutputStream()), new PrintStream(errBuf, true, StandardCharsets.UTF_8))));
    }

    static Run start(PromoteFaultTest test, String... extra) {
      Run r = new Run(test.args(extra));
      r.thread.start();
      return r;
    }

    boolean finished() {
      return exit.get() >= 0;
    }

    void join() throws InterruptedException {
      thread.join(WAIT_MS);
      if (thread.isAlive()) {
        throw new AssertionError("the run did not end within " + WAIT_MS + " ms");
      }
      code = exit.get();
      err = errBuf.toString(StandardCharsets.UTF_8);
    }
  }
}
