package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assume.assumeTrue;
import static org.warehouse.pipelines.DedupeTestSupport.checksum;
import static org.warehouse.pipelines.DedupeTestSupport.exceptBothWays;
import static org.warehouse.pipelines.DedupeTestSupport.oracle;

import java.sql.Connection;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Faults in the middle of a run, in-process through the launcher: the run lock's connection terminated
 * while the run waits to publish, and a worker connection terminated while it writes the backup copy.
 * Each must exit 1 with one line, leave the table as it was (checksum and OID), leave no work table, and
 * let the next run succeed. Every wait polls the server and is bounded; nothing sleeps to synchronise.
 */
public class DedupeFaultTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  private static final long WAIT_NANOS = 240_000_000_000L;
  private static final String NOT_NULL = "a IS NOT NULL AND b IS NOT NULL";
  private static final String ANY_NULL = "(a IS NULL OR b IS NULL)";

  /** Polls {@code sql} (a count) on {@code c} until it is positive; fails after the bounded wait. */
  private static void awaitPositive(Connection c, String sql, Thread run, String what) throws Exception {
    long deadline = System.nanoTime() + WAIT_NANOS;
    while (Db.queryLong(c, sql) == 0) {
      assertThat(what + " (the run ended first)", run.isAlive(), equalTo(true));
      assertThat(what + " within the bounded wait", System.nanoTime() < deadline, equalTo(true));
      Thread.sleep(20);
    }
  }

  private static Thread start(AtomicReference<DedupeTestSupport.Launch> result, String... args) {
    Thread t = new Thread(() -> result.set(DedupeTestSupport.launchDedupe(DB, args)), "dedupe-under-fault");
    t.start();
    return t;
  }

  /** The table {@code schema.t} before the run: its checksum and OID (a copy is kept as {@code schema.before}). */
  private record Original(String checksum, long oid) {}

  /** A hand-built {@code schema.t}, changed by {@code sql} (or not), copied to {@code schema.before}. */
  private static Original original(String schema, int rows, String sql) throws Exception {
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, schema, rows);
      if (sql != null) {
        Db.execute(c, sql);
      }
      Db.execute(c, "CREATE TABLE " + schema + ".before AS SELECT * FROM " + schema + ".t");
      return new Original(checksum(c, schema + ".t"), Db.queryLong(c, "SELECT '" + schema
          + ".t'::regclass::oid::bigint"));
    }
  }

  /** Checksum, OID, no backup, no constraint, no work table: the table is exactly as before the run. */
  private static void assertUnchanged(Connection c, String schema, Original original) throws Exception {
    assertThat(checksum(c, schema + ".t"), equalTo(original.checksum()));
    assertThat(Db.queryLong(c, "SELECT '" + schema + ".t'::regclass::oid::bigint"), equalTo(original.oid()));
    assertThat("no backup, no work table", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE (relname = "
        + "'t_dedupe_backup' OR " + DedupeConcurrencyTest.WORK_TABLE + ") AND relnamespace = '" + schema
        + "'::regnamespace"), equalTo(0L));
    assertThat("no constraint added", Db.queryLong(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = '" + schema
        + ".t'::regclass AND contype = 'u'"), equalTo(0L));
  }

  /** The next run succeeds and leaves exactly the survivors of the original rows. */
  private static void assertNextRunSucceeds(String schema) throws Exception {
    DedupeTestSupport.Launch next = DedupeTestSupport.launchDedupe(DB, "--table=" + schema + ".t", "--naturalKey=a,b",
        "--runner=DirectRunner");
    assertThat(next.err, next.code, equalTo(0));
    try (Connection c = DB.connect()) {
      assertThat(exceptBothWays(c, "SELECT * FROM " + schema + ".t", oracle(schema + ".before", "a, b", NOT_NULL,
          ANY_NULL)), equalTo(0L));
    }
  }

  private static void assertOneLine(DedupeTestSupport.Launch run, String cause) {
    assertThat(run.err, run.code, equalTo(1));
    String[] lines = run.err.strip().split("\n");
    assertThat(run.err, lines[0], startsWith("dedupe failed: "));
    assertThat(run.err, lines[0], containsString(cause));
    assertThat(run.err, lines.length, equalTo(2)); // the cause and the WH_DEBUG hint, no stack trace
  }

  /**
   * Runs dedupe on {@code schema.t} while a reader's open transaction holds the publish at its ACCESS
   * EXCLUSIVE lock; when the publish waits, terminates the backend of the session named {@code
   * application}, waits until it is gone, lets the reader go, and returns what the run said.
   */
  private static DedupeTestSupport.Launch terminateWhilePublishWaits(String schema, String application)
      throws Exception {
    AtomicReference<DedupeTestSupport.Launch> result = new AtomicReference<>();
    try (Connection reader = DB.connect(); Connection monitor = DB.connect()) {
      reader.setAutoCommit(false);
      Db.queryLong(reader, "SELECT count(*) FROM " + schema + ".t");
      Thread run = start(result, "--table=" + schema + ".t", "--naturalKey=a,b", "--lockTimeoutSeconds=300",
          "--runner=DirectRunner");
      try {
        awaitPositive(monitor, "SELECT count(*) FROM pg_locks WHERE relation = '" + schema + ".t'::regclass "
            + "AND NOT granted AND mode = 'AccessExclusiveLock'", run, "the publish waits for the reader");
        String session = "FROM pg_stat_activity WHERE application_name = '" + application + "' "
            + "AND datname = current_database()";
        assertThat(Db.queryLong(monitor, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) " + session
            + ") x"), equalTo(1L));
        awaitPositive(monitor, "SELECT (count(*) = 0)::int " + session, run, application + " ends");
      } finally {
        reader.commit();
        run.join(WAIT_NANOS / 1_000_000);
      }
    }
    return result.get();
  }

  @Test
  public void theRunLockLostBeforePublishingExitsOneAndPublishesNothing() throws Exception {
    Original original = original("lost", 3000, null);
    DedupeTestSupport.Launch run = terminateWhilePublishWaits("lost", "warehouse-lock-dedupe");
    assertOneLine(run, "lost the run lock (connection to " + DB.databaseName() + " ended");
    assertThat(run.err, containsString("nothing published"));
    try (Connection c = DB.connect()) {
      assertUnchanged(c, "lost", original);
    }
    assertNextRunSucceeds("lost");
  }

  /** The run's own connection ends inside the publish: its work tables are dropped on a fresh connection. */
  @Test
  public void theRunsConnectionTerminatedInThePublishExitsOneAndLeavesNoWorkTable() throws Exception {
    Original original = original("own", 3000, null);
    DedupeTestSupport.Launch run = terminateWhilePublishWaits("own", "warehouse-dedupe");
    assertOneLine(run, "the server closed the connection (restart or terminated backend?) while publishing own.t "
        + "(its transaction did not commit)");
    try (Connection c = DB.connect()) {
      assertUnchanged(c, "own", original);
    }
    assertNextRunSucceeds("own");
  }

  @Test
  public void aWorkerConnectionTerminatedDuringTheBackupCopyExitsOneAndChangesNothing() throws Exception {
    try (Connection c = DB.connect()) {
      assumeTrue("event triggers need a superuser", Db.queryLong(c, "SELECT rolsuper::int FROM pg_roles "
          + "WHERE rolname = current_user") == 1);
    }
    Original original = original("wk", 3000, null);
    try (Connection c = DB.connect()) {
      // The backup copy's CREATE TABLE AS waits on an advisory lock the test holds: a deterministic moment.
      Db.execute(c, "CREATE FUNCTION wk.hold_the_copy() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
          + "IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE object_identity LIKE "
          + "'wk.t\\_\\_dedupe\\_copy\\_%') THEN PERFORM pg_advisory_xact_lock(4711); END IF; END $$");
      Db.execute(c, "CREATE EVENT TRIGGER wk_hold_the_copy ON ddl_command_end WHEN TAG IN ('CREATE TABLE AS') "
          + "EXECUTE FUNCTION wk.hold_the_copy()");
    }
    AtomicReference<DedupeTestSupport.Launch> result = new AtomicReference<>();
    try (Connection holder = DB.connect(); Connection monitor = DB.connect()) {
      Db.queryLong(holder, "SELECT count(*) FROM (SELECT pg_advisory_lock(4711)) x");
      Thread run = start(result, "--table=wk.t", "--naturalKey=a,b", "--runner=DirectRunner");
      try {
        String worker = "FROM pg_stat_activity WHERE application_name = 'warehouse-dedupe-backup' "
            + "AND datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'";
        awaitPositive(monitor, "SELECT count(*) " + worker, run, "the backup copy waits");
        assertThat(Db.queryLong(monitor, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) " + worker + ") x"),
            equalTo(1L));
      } finally {
        Db.queryLong(holder, "SELECT count(*) FROM (SELECT pg_advisory_unlock(4711)) x");
        run.join(WAIT_NANOS / 1_000_000);
        Db.execute(monitor, "DROP EVENT TRIGGER wk_hold_the_copy");
      }
    }
    assertOneLine(result.get(), "the server closed the connection (restart or terminated backend?) while writing "
        + "the backup copy wk.t__dedupe_copy_");
    try (Connection c = DB.connect()) {
      assertUnchanged(c, "wk", original);
    }
    assertNextRunSucceeds("wk");
  }

  @Test
  public void aTableWhoseIdIsNotUniqueIsRefusedInOneLineNamingTheDuplicateIds() throws Exception {
    Original original = original("dupid", 500, "ALTER TABLE dupid.t DROP CONSTRAINT t_pkey; "
        + "INSERT INTO dupid.t SELECT * FROM dupid.t WHERE id IN (5, 6, 7)");
    DedupeTestSupport.Launch run = DedupeTestSupport.launchDedupe(DB, "--table=dupid.t", "--naturalKey=a,b",
        "--runner=DirectRunner");
    assertOneLine(run, "table dupid.t: column id is not unique (3 id value(s) appear more than once)");
    try (Connection c = DB.connect()) {
      assertUnchanged(c, "dupid", original);
      assertThat(Db.tableExists(c, TableRef.of("dupid", "t_dedupe_backup")), equalTo(false));
    }
  }

  @Test
  public void aDeadRunsWorkTablesAreNamedAndDroppedByTheNextRun() throws Exception {
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, "dead", 500);
      Db.execute(c, "CREATE TABLE dead.before AS SELECT * FROM dead.t");
      Db.execute(c, "CREATE UNLOGGED TABLE dead.t__dedupe_keep_zz9zz9 (id bigint NOT NULL)");
      Db.execute(c, "CREATE TABLE dead.t__dedupe_copy_zz9zz9 AS SELECT * FROM dead.t");
      Db.execute(c, "CREATE TABLE dead.t__dedupe_copy_notours AS SELECT 1 AS x"); // not a run id: not ours
    }
    java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
    java.io.PrintStream stdout = System.out;
    DedupeTestSupport.Launch run;
    System.setOut(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      run = DedupeTestSupport.launchDedupe(DB, "--table=dead.t", "--naturalKey=a,b", "--runner=DirectRunner");
    } finally {
      System.setOut(stdout);
    }
    String out = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertThat(run.err, run.code, equalTo(0));
    for (String t : new String[] {"dead.t__dedupe_keep_zz9zz9", "dead.t__dedupe_copy_zz9zz9"}) {
      assertThat(out, containsString("dedupe: dropping " + t + ", left by a run that did not finish"));
    }
    try (Connection c = DB.connect()) {
      assertThat(Db.queryString(c, "SELECT string_agg(relname, ',') FROM pg_class WHERE relnamespace = "
          + "'dead'::regnamespace AND " + DedupeConcurrencyTest.WORK_TABLE), equalTo("t__dedupe_copy_notours"));
      assertThat(exceptBothWays(c, "SELECT * FROM dead.t", oracle("dead.before", "a, b", NOT_NULL, ANY_NULL)),
          equalTo(0L));
    }
  }

  @Test
  public void badCountsAndLockTimeoutsAreUsageErrorsBeforeAnythingHappens() throws Exception {
    for (String bad : new String[] {"--lockTimeoutSeconds=0", "--lockTimeoutSeconds=-1", "--partitions=-1"}) {
      DedupeTestSupport.Launch run = DedupeTestSupport.launchDedupe(DB, "--table=nosuch.t", "--naturalKey=a,b", bad,
          "--runner=DirectRunner");
      assertThat(bad + ": " + run.err, run.code, equalTo(2));
      assertThat(run.err, containsString("--" + bad.substring(2, bad.indexOf('=')) + " must be at least"));
    }
  }
}
