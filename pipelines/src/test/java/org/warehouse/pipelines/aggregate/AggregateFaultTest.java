package org.warehouse.pipelines.aggregate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.pipelines.Main;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.testing.AggregateOracle;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.births.ReadBirths;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Faults during a run: the fact table changing while it is read, the run lock lost while the publish
 * waits, a reader's connection terminated, a cancelled run. Production (the agg tables) must show the
 * fact table of one moment or stay exactly as it was (checksum and OID), and the next run succeeds.
 * Range readers are held at known points by advisory locks the test owns ({@link Gate}): no sleeps.
 */
public class AggregateFaultTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  /** Advisory lock keys: the first reader's session, the gate other readers wait at, the first read's end. */
  static final long FIRST = 7_301;
  static final long GATE = 7_302;
  static final long AFTER_FIRST = 7_303;
  private static final long WAIT_MILLIS = 120_000;

  private final ExecutorService runner = Executors.newSingleThreadExecutor();
  private Connection holder;

  @BeforeClass
  public static void loadData() throws Exception {
    AggregateTestData.loadReference(DB);
    AggregateTestData.generate(DB, "direct", 3_000, 5);
  }

  @Before
  public void publishABaseline() throws Exception {
    AggregatePipeline.run(options());
    holder = DB.connect();
  }

  @After
  public void releaseEverything() throws Exception {
    holder.close(); // ends the test's advisory locks, so no reader stays held
    runner.shutdownNow();
    assertTrue("the run ended", runner.awaitTermination(WAIT_MILLIS, TimeUnit.MILLISECONDS));
  }

  /** DirectRunner options; 4 partitions unless {@code more} says otherwise. */
  private static AggregatePipeline.AggregateOptions options(String... more) {
    boolean partitions = Arrays.stream(more).anyMatch(a -> a.startsWith("--partitions="));
    return AggregateTestData.options(AggregatePipeline.AggregateOptions.class, AggregateTestData.args(DB, "direct",
        partitions ? more : AggregatePipelineTest.concat(new String[] {"--partitions=4"}, more)));
  }

  /**
   * How the range readers are held. {@code firstReadsFreely}: the first reader's session reads its
   * ranges at once and, after its first range, waits at AFTER_FIRST; every other reader waits at GATE
   * before reading. Otherwise every reader waits at GATE before reading.
   */
  static final class Gate implements ReadBirths.RangeHook {
    private static final long serialVersionUID = 1L;
    private final boolean firstReadsFreely;

    Gate(boolean firstReadsFreely) {
      this.firstReadsFreely = firstReadsFreely;
    }

    @Override
    public void beforeRead(Connection c, long fromId, long toIdExclusive) throws SQLException {
      if (!firstReadsFreely || !isFirst(c)) {
        Db.queryString(c, "SELECT pg_advisory_xact_lock_shared(" + GATE + ")::text");
      }
    }

    @Override
    public void afterRead(Connection c, long fromId, long toIdExclusive) throws SQLException {
      if (firstReadsFreely && isFirst(c)) {
        Db.queryString(c, "SELECT pg_advisory_xact_lock_shared(" + AFTER_FIRST + ")::text");
      }
    }

    /** The first session to ask keeps FIRST (session-level, re-entrant) until its connection closes. */
    private static boolean isFirst(Connection c) throws SQLException {
      return "true".equals(Db.queryString(c, "SELECT pg_try_advisory_lock(" + FIRST + ")::text"));
    }
  }

  private void holdGates() throws SQLException {
    Db.queryString(holder, "SELECT pg_advisory_lock(" + GATE + ")::text || pg_advisory_lock(" + AFTER_FIRST + ")::text");
  }

  private void openGates() throws SQLException {
    Db.queryString(holder, "SELECT pg_advisory_unlock(" + GATE + ")::text || pg_advisory_unlock(" + AFTER_FIRST + ")::text");
  }

  /** Waits (bounded) until {@code sql} counts at least one row, failing early when the run has ended. */
  private static void awaitRows(Connection c, String what, String sql, Future<?> run) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WAIT_MILLIS);
    while (Db.queryLong(c, sql) == 0) {
      if (run.isDone()) {
        run.get();
        fail("the run ended before " + what);
      }
      if (System.nanoTime() > deadline) {
        fail("timed out waiting for " + what);
      }
      Thread.sleep(20); // polling interval of a bounded wait on a database condition
    }
  }

  private static String waitingOn(long key) {
    return "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' "
        + "AND NOT l.granted AND l.objid = " + key + " AND d.datname = current_database()";
  }

  private static String sessions(String applicationName, String condition) {
    return "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '"
        + applicationName + "'" + (condition.isEmpty() ? "" : " AND " + condition);
  }

  @Test
  public void aFactTableChangingMidRunIsPublishedAsOfOneMoment() throws Exception {
    Db.execute(holder, "DROP TABLE IF EXISTS fact_before");
    Db.execute(holder, "CREATE TABLE fact_before AS SELECT * FROM fact_births");
    holdGates();
    Future<?> run = runner.submit(() -> AggregatePipeline.run(options(), new RunReport("aggregate"), new Gate(true)));
    awaitRows(holder, "the first range to be read", waitingOn(AFTER_FIRST), run);
    assertEquals("the run's snapshot is open", 1, Db.queryLong(holder,
        sessions(FactSnapshot.APPLICATION_NAME, "state = 'idle in transaction'")));
    long swapped = Db.queryLong(holder, "WITH u AS (UPDATE fact_births SET sex = CASE sex WHEN 1 THEN 2 WHEN 2 THEN 1 "
        + "ELSE sex END WHERE birth_id % 10 = 0 RETURNING 1) SELECT count(*) FROM u");
    assertTrue(swapped > 200);
    openGates();
    run.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
    AggregateOracle.assertEveryTableMatchesOracle(holder, "fact_before");
    assertThat("the update shows in the national tables, so a mix would be seen",
        AggregateOracle.tablesDifferingFromOracle(holder, "fact_births"), not(empty()));
  }

  @Test
  public void aLostRunLockPublishesNothingAndTheNextRunSucceeds() throws Exception {
    Db.execute(holder, "DELETE FROM fact_births WHERE birth_id % 97 = 0");
    String before = AggregateOracle.checksumAll(holder);
    String oids = oids(holder);
    holder.setAutoCommit(false);
    Db.queryLong(holder, "SELECT count(*) FROM agg_monthly"); // ACCESS SHARE until rollback: the publish waits
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    Future<Integer> run = runner.submit(launcher(err, "--lockTimeoutSeconds=120"));
    try (Connection watcher = DB.connect()) { // pg_stat_activity is read once per transaction: not on holder
      awaitRows(watcher, "the publish to wait for agg_monthly", sessions("warehouse-aggregate", "wait_event_type = 'Lock'"),
          run);
      assertEquals("true", Db.queryString(watcher, "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity "
          + "WHERE datname = current_database() AND application_name = 'warehouse-lock-aggregate'"));
    }
    holder.rollback();
    holder.setAutoCommit(true);
    int code = run.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
    String message = err.toString(StandardCharsets.UTF_8);
    assertEquals(message, 1, code);
    assertThat(message, containsString("lost the run lock"));
    assertThat(message, containsString("nothing published"));
    assertThat(message, not(containsString("\tat ")));
    assertUnchanged(before, oids);
    AggregatePipeline.run(options());
    AggregateOracle.assertEveryTableMatchesOracle(holder);
  }

  @Test
  public void aSecondRunAfterTheFirstLostItsLockPublishesAndTheFirstPublishesNothing() throws Exception {
    holdGates();
    RunReport first = new RunReport("aggregate");
    Future<?> run = runner.submit(() -> AggregatePipeline.run(options(), first, new Gate(false)));
    awaitRows(holder, "a reader of the first run at the gate", waitingOn(GATE), run);
    assertEquals("true", Db.queryString(holder, "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity "
        + "WHERE datname = current_database() AND application_name = 'warehouse-lock-aggregate'"));
    awaitRows(holder, "the first run's lock session to end", "SELECT count(*) FROM (SELECT 1) x WHERE ("
        + sessions("warehouse-lock-aggregate", "") + ") = 0", run);
    Db.execute(holder, "DELETE FROM fact_births WHERE birth_id % 79 = 0");
    AggregatePipeline.run(options()); // gets the lock, finds the first run's staging tables and drops them
    String second = AggregateOracle.checksumAll(holder);
    String oids = oids(holder);
    openGates();
    assertFailsInOneLine(run, "lost the run lock", "nothing published");
    assertUnchanged(second, oids); // the second run's tables stay
    AggregateOracle.assertEveryTableMatchesOracle(holder);
  }

  @Test
  public void aTerminatedReaderFailsInOneLineAndPublishesNothing() throws Exception {
    Db.execute(holder, "DELETE FROM fact_births WHERE birth_id % 89 = 0");
    String before = AggregateOracle.checksumAll(holder);
    String oids = oids(holder);
    holdGates();
    Future<?> run = runner.submit(() -> AggregatePipeline.run(options(), new RunReport("aggregate"), new Gate(false)));
    awaitRows(holder, "a reader at the gate", waitingOn(GATE), run);
    assertEquals("true", Db.queryString(holder, "SELECT pg_terminate_backend(l.pid)::text FROM pg_locks l "
        + "JOIN pg_database d ON d.oid = l.database WHERE l.locktype = 'advisory' AND NOT l.granted AND l.objid = "
        + GATE + " AND d.datname = current_database() LIMIT 1"));
    openGates();
    assertFailsInOneLine(run, "the server closed the connection", "agg tables unchanged");
    assertUnchanged(before, oids);
    AggregatePipeline.run(options());
    AggregateOracle.assertEveryTableMatchesOracle(holder);
  }

  @Test
  public void aSnapshotSessionEndedBeforeEveryReaderImportedItFailsInOneLine() throws Exception {
    Db.execute(holder, "DELETE FROM fact_births WHERE birth_id % 83 = 0");
    String before = AggregateOracle.checksumAll(holder);
    String oids = oids(holder);
    holdGates();
    // one worker thread: the first range's reader waits at the gate, the other seven have not imported yet
    Future<?> run = runner.submit(() -> AggregatePipeline.run(options("--partitions=8", "--targetParallelism=1"),
        new RunReport("aggregate"), new Gate(false)));
    awaitRows(holder, "a reader at the gate", waitingOn(GATE), run);
    assertEquals("true", Db.queryString(holder, "SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity "
        + "WHERE datname = current_database() AND application_name = '" + FactSnapshot.APPLICATION_NAME + "'"));
    awaitRows(holder, "the snapshot's session to end",
        "SELECT count(*) FROM (SELECT 1) x WHERE (" + sessions(FactSnapshot.APPLICATION_NAME, "") + ") = 0", run);
    openGates();
    assertFailsInOneLine(run, "the server closed the connection", "snapshot (its session ended); agg tables unchanged");
    assertUnchanged(before, oids);
  }

  @Test
  public void aCancelledRunDropsItsStagingTables() throws Exception {
    String before = AggregateOracle.checksumAll(holder);
    holdGates();
    RunReport report = new RunReport("aggregate");
    // the DirectRunner's run() otherwise returns only once the pipeline has ended: nothing to cancel
    Future<?> run = runner.submit(() -> AggregatePipeline.run(options("--blockOnRun=false"), report, new Gate(false)));
    awaitRows(holder, "a reader at the gate", waitingOn(GATE), run);
    assertEquals(12, stagingTables(holder));
    // what the launcher does on SIGTERM: cancel the started pipelines, then run the clean-ups
    assertEquals(1, report.startedPipelines().size());
    report.startedPipelines().get(0).cancel();
    report.cleanups().forEach(c -> c.action().run());
    assertEquals("staging dropped on cancel", 0, stagingTables(holder));
    openGates();
    try {
      run.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
      fail("a cancelled run succeeded");
    } catch (ExecutionException e) {
      assertThat(String.valueOf(e.getCause().getMessage()), containsString("agg tables unchanged"));
    }
    assertEquals(before, AggregateOracle.checksumAll(holder));
  }

  @Test
  public void aFactTableMadeBeforeTheCategoryColumnsIsReadWithThemNull() throws Exception {
    Db.execute(holder, "DROP TABLE IF EXISTS fact_old");
    Db.execute(holder, "CREATE TABLE fact_old AS SELECT birth_id, birth_date, residence_municipality_code, cnes_code, "
        + "sex, birth_weight_g, gestational_weeks, mother_age, delivery_type, prenatal_visits FROM fact_births");
    AggregatePipeline.run(options("--factTable=fact_old"));
    Db.execute(holder, "ALTER TABLE fact_old ADD COLUMN gestation_category smallint, ADD COLUMN prenatal_category smallint");
    AggregateOracle.assertEveryTableMatchesOracle(holder, "fact_old");
  }

  @Test
  public void leftoversOfADeadRunAreAnnouncedAndDropped() throws Exception {
    Db.execute(holder, "CREATE TABLE agg_yearly__staging_dead01 (x int)");
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8)); // progress lines go to stdout
    int code;
    try {
      code = launcher(err).call();
    } finally {
      System.setOut(stdout);
    }
    assertEquals(err.toString(StandardCharsets.UTF_8), 0, code);
    assertThat(out.toString(StandardCharsets.UTF_8),
        containsString("aggregate: dropping agg_yearly__staging_dead01, left by a run that did not finish"));
    assertEquals(0, stagingTables(holder));
  }

  /** The run fails with one line (a {@link WarehouseException}) saying each of {@code expected}. */
  private static void assertFailsInOneLine(Future<?> run, String... expected) throws Exception {
    try {
      run.get(WAIT_MILLIS, TimeUnit.MILLISECONDS);
      fail("the run succeeded");
    } catch (ExecutionException e) {
      assertTrue(String.valueOf(e.getCause()), e.getCause() instanceof WarehouseException);
      for (String s : expected) {
        assertThat(e.getCause().getMessage(), containsString(s));
      }
      assertThat(e.getCause().getMessage(), not(containsString("\n")));
    }
  }

  /** Every agg table as it was (content and OID), and no staging table left. */
  private void assertUnchanged(String checksum, String oids) throws Exception {
    assertEquals(checksum, AggregateOracle.checksumAll(holder));
    assertEquals(oids, oids(holder));
    assertEquals("no staging tables left", 0, stagingTables(holder));
  }

  private static Callable<Integer> launcher(ByteArrayOutputStream err, String... more) {
    String[] args = AggregatePipelineTest.concat(new String[] {"aggregate"}, AggregateTestData.args(DB, "direct", more));
    return () -> Main.run(args, System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private static long stagingTables(Connection c) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'agg\\_%\\_\\_staging%'");
  }

  /** Each agg table's OID: a publish (rename or in place) would change or keep them, a failed run never. */
  private static String oids(Connection c) throws SQLException {
    StringBuilder sb = new StringBuilder();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT relname, oid::bigint FROM pg_class WHERE relkind = 'r' "
            + "AND relname LIKE 'agg\\_%' AND relname NOT LIKE '%\\_\\_%' ORDER BY 1")) {
      while (rs.next()) {
        sb.append(rs.getString(1)).append('=').append(rs.getLong(2)).append(';');
      }
    }
    assertNotEquals("", sb.toString());
    return sb.toString();
  }
}
