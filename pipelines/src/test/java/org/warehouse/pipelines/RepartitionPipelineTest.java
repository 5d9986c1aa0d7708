package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.lessThan;
import static org.warehouse.pipelines.DedupeTestSupport.exceptBothWays;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.pipelines.DedupeTestSupport.Launch;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/**
 * repartition on a hand-built table with the things a real one has (serial key, unique key, index,
 * CHECK, generated column, foreign key, comments, grant, NULL and month-boundary timestamps), through
 * the launcher (DirectRunner, its default). The oracle is PostgreSQL: the original rows kept aside
 * (EXCEPT ALL both ways), each row's partition computed in SQL from its timestamp, and the catalog.
 */
public class RepartitionPipelineTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  private static final String ROLE = "repartition_reader";

  @Before
  public void freshTables() throws SQLException {
    try (Connection c = DB.connect()) {
      Db.execute(c, "DROP EVENT TRIGGER IF EXISTS sabotage");
      Db.execute(c, "DROP EVENT TRIGGER IF EXISTS truncate_gate");
      Db.execute(c, "DROP SCHEMA IF EXISTS rp CASCADE");
      Db.execute(c, "CREATE SCHEMA rp");
      Db.execute(c, "DROP ROLE IF EXISTS " + ROLE);
      Db.execute(c, "CREATE ROLE " + ROLE);
      Db.execute(c, "GRANT USAGE ON SCHEMA rp TO " + ROLE);
      Db.execute(c, "CREATE TABLE rp.kinds (kind text PRIMARY KEY)");
      Db.execute(c, "INSERT INTO rp.kinds VALUES ('a'), ('b'), ('c')");
      Db.execute(c, "CREATE TABLE rp.events (id serial, happened_at timestamptz, kind text NOT NULL REFERENCES rp.kinds, "
          + "amount numeric(10,2) CHECK (amount >= 0), amount_x2 numeric GENERATED ALWAYS AS (amount * 2) STORED, "
          + "note text DEFAULT 'n/a', UNIQUE (id))");
      Db.execute(c, "CREATE INDEX events_kind_idx ON rp.events (kind)");
      Db.execute(c, "COMMENT ON TABLE rp.events IS 'what happened'");
      Db.execute(c, "COMMENT ON COLUMN rp.events.amount IS 'in reais'");
      Db.execute(c, "GRANT SELECT ON rp.events TO " + ROLE);
      // 2,000 rows from 2023-11 to 2024-12 in several time zones; every 100th without a timestamp;
      // values right at UTC month boundaries (23:59:59.999 -03 on the 31st is the 1st in UTC).
      Db.execute(c, "INSERT INTO rp.events (happened_at, kind, amount, note) SELECT CASE WHEN g % 100 = 0 THEN NULL "
          + "ELSE timestamptz '2023-11-01 00:00+00' + (g * 5.07) * interval '1 hour' "
          + "+ (g % 3) * interval '-3 hours' END, (ARRAY['a','b','c'])[1 + g % 3], g / 7.0, 'row ' || g "
          + "FROM generate_series(1, 2000) g");
      Db.execute(c, "INSERT INTO rp.events (happened_at, kind, amount) VALUES "
          + "('2024-01-31 23:59:59.999-03', 'a', 1), ('2024-02-01 00:00:00+00', 'b', 2), ('2024-01-31 23:59:59.999+00', 'c', 3)");
      Db.execute(c, "CREATE TABLE rp.orig_events AS SELECT * FROM rp.events");
    }
  }

  @Test
  public void everyRowLandsInItsMonthsPartitionWithTheTablesDefinitionAndTheOriginalIsKeptThenRolledBack()
      throws Exception {
    long oid = oid("rp.events");
    Launch run = launch("--table=rp.events", "--partitionColumn=happened_at", "--monthsAhead=2", "--rangeRows=300");
    assertThat(run.err, run.code, equalTo(0));
    assertThat(run.out, containsString("verified 2,003 rows"));

    try (Connection c = DB.connect()) {
      assertThat("rows", exceptBothWays(c, "SELECT * FROM rp.events", "SELECT * FROM rp.orig_events"), equalTo(0L));
      assertThat("partitioned by happened_at", Db.queryString(c, "SELECT pg_get_partkeydef('rp.events'::regclass)"),
          equalTo("RANGE (happened_at)"));
      // the oracle's partition of each row: NULL -> default, else its month in UTC
      assertThat("rows outside their month's partition", Db.queryLong(c, "SELECT count(*) FROM rp.events t "
          + "JOIN pg_class k ON k.oid = t.tableoid WHERE k.relname <> CASE WHEN t.happened_at IS NULL THEN 'events_pdefault' "
          + "ELSE 'events_p' || to_char(t.happened_at AT TIME ZONE 'UTC', 'YYYY_MM') END"), equalTo(0L));
      assertThat("the boundary row of 2024-01-31 -03 is in February", Db.queryString(c, "SELECT k.relname FROM rp.events t "
          + "JOIN pg_class k ON k.oid = t.tableoid WHERE t.happened_at = '2024-01-31 23:59:59.999-03'"),
          equalTo("events_p2024_02"));
      long months = Db.queryLong(c, "SELECT (extract(year FROM age(date_trunc('month', max(happened_at) AT TIME ZONE 'UTC'), "
          + "date_trunc('month', min(happened_at) AT TIME ZONE 'UTC'))) * 12 + extract(month FROM age("
          + "date_trunc('month', max(happened_at) AT TIME ZONE 'UTC'), date_trunc('month', min(happened_at) AT TIME ZONE 'UTC'))))"
          + "::bigint + 1 FROM rp.orig_events");
      assertThat("partitions: every month with rows, 2 ahead, default", Db.queryLong(c,
          "SELECT count(*) FROM pg_inherits WHERE inhparent = 'rp.events'::regclass"), equalTo(months + 2 + 1));
      assertThat("backup = the original table (same OID, same rows)", oid("rp.events_unpartitioned_backup"), equalTo(oid));
      assertThat(exceptBothWays(c, "SELECT * FROM rp.events_unpartitioned_backup", "SELECT * FROM rp.orig_events"),
          equalTo(0L));
      assertThat("unique key widened, under its own name", Db.queryString(c, "SELECT pg_get_constraintdef(oid) FROM "
          + "pg_constraint WHERE conrelid = 'rp.events'::regclass AND conname = 'events_id_key'"),
          equalTo("UNIQUE (id, happened_at)"));
      assertThat("index", Db.queryString(c, "SELECT pg_get_indexdef('rp.events_kind_idx'::regclass)"),
          equalTo("CREATE INDEX events_kind_idx ON ONLY rp.events USING btree (kind)"));
      assertThat("foreign key and CHECK", Db.queryLong(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = "
          + "'rp.events'::regclass AND contype IN ('f', 'c')"), equalTo(2L));
      assertThat("comments", Db.queryString(c, "SELECT obj_description('rp.events'::regclass, 'pg_class') || '/' || "
          + "col_description('rp.events'::regclass, 4)"), equalTo("what happened/in reais"));
      assertThat("grant", Db.queryString(c, "SELECT has_table_privilege('" + ROLE + "', 'rp.events', 'SELECT')::text"),
          equalTo("true"));
      assertThat("the serial's sequence now belongs to the new table",
          Db.queryString(c, "SELECT pg_get_serial_sequence('rp.events', 'id')"), equalTo("rp.events_id_seq"));
      long next = Db.queryLong(c, "INSERT INTO rp.events (happened_at, kind, amount) VALUES ('2031-05-05', 'a', 1) "
          + "RETURNING id");
      assertThat("ids go on", next, equalTo(Db.queryLong(c, "SELECT max(id) + 1 FROM rp.orig_events")));
      assertThat("a later month goes to the default partition", Db.queryString(c, "SELECT tableoid::regclass::text "
          + "FROM rp.events WHERE id = " + next), equalTo("rp.events_pdefault"));
      assertThat("generated column", Db.queryLong(c, "SELECT (amount_x2 = 2)::int FROM rp.events WHERE id = " + next),
          equalTo(1L));
      Db.execute(c, "DELETE FROM rp.events WHERE id = " + next);
      assertThat("no work tables left", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname LIKE "
          + "'events\\_\\_repartition%'"), equalTo(0L));
    }

    Launch again = launch("--table=rp.events", "--partitionColumn=happened_at");
    assertThat(again.err, again.code, equalTo(0));
    assertThat(again.out, containsString("already partitioned by range of happened_at: nothing to do"));

    Launch back = launch("--table=rp.events", "--rollback=true");
    assertThat(back.err, back.code, equalTo(0));
    try (Connection c = DB.connect()) {
      assertThat("the original table is back", oid("rp.events"), equalTo(oid));
      assertThat(exceptBothWays(c, "SELECT * FROM rp.events", "SELECT * FROM rp.orig_events"), equalTo(0L));
      assertThat("its index names are back", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname IN "
          + "('events_id_key', 'events_kind_idx') AND relnamespace = 'rp'::regnamespace"), equalTo(2L));
      assertThat("no partition left", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname LIKE 'events\\_p%' "
          + "AND relnamespace = 'rp'::regnamespace"), equalTo(0L));
      assertThat("its sequence is its own again", Db.queryString(c, "SELECT pg_get_serial_sequence('rp.events', 'id')"),
          equalTo("rp.events_id_seq"));
    }
  }

  @Test
  public void onFlinkEveryRowLandsInItsMonthsPartition() throws Exception {
    Launch run = launch("--table=rp.events", "--partitionColumn=happened_at", "--rangeRows=200",
        "--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2");
    assertThat(run.err, run.code, equalTo(0));
    assertThat("ranges copied in parallel", run.out, containsString(" in 9 range(s)"));
    try (Connection c = DB.connect()) {
      assertThat("rows", exceptBothWays(c, "SELECT * FROM rp.events", "SELECT * FROM rp.orig_events"), equalTo(0L));
      assertThat("rows outside their month's partition", Db.queryLong(c, "SELECT count(*) FROM rp.events t "
          + "JOIN pg_class k ON k.oid = t.tableoid WHERE k.relname <> CASE WHEN t.happened_at IS NULL THEN 'events_pdefault' "
          + "ELSE 'events_p' || to_char(t.happened_at AT TIME ZONE 'UTC', 'YYYY_MM') END"), equalTo(0L));
    }
  }

  @Test
  public void offlineRowsWrittenDuringTheRunWaitAndLandInThePartitionedTable() throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong committed = new AtomicLong();
    AtomicReference<Throwable> writerError = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      try (Connection w = DB.connect()) {
        while (!stop.get()) {
          Db.execute(w, "INSERT INTO rp.events (happened_at, kind, amount, note) VALUES (now(), 'a', 1, 'writer')");
          committed.incrementAndGet();
        }
      } catch (Throwable e) {
        writerError.set(e);
      }
    });
    writer.start();
    while (committed.get() < 20) {
      Thread.sleep(10);
    }
    Launch run = launch("--table=rp.events", "--partitionColumn=happened_at", "--offline=true");
    long atSwap = committed.get();
    Thread.sleep(300);
    stop.set(true);
    writer.join();

    assertThat(run.err, run.code, equalTo(0));
    assertThat("writer", writerError.get() == null ? "" : writerError.get().toString(), equalTo(""));
    assertThat("the writer went on after the swap", committed.get(), greaterThan(atSwap));
    try (Connection c = DB.connect()) {
      assertThat("every committed row of the writer is in the partitioned table", Db.queryLong(c,
          "SELECT count(*) FROM rp.events WHERE note = 'writer'"), equalTo(committed.get()));
      assertThat("and the original rows", exceptBothWays(c, "SELECT * FROM rp.events WHERE note IS DISTINCT FROM 'writer'",
          "SELECT * FROM rp.orig_events"), equalTo(0L));
      assertThat("rows written after the swap are not in the backup", Db.queryLong(c,
          "SELECT count(*) FROM rp.events_unpartitioned_backup WHERE note = 'writer'"),
          lessThan(committed.get()));
    }
  }

  /**
   * Online (the default): a writer INSERTs, UPDATEs (in the month and across months) and DELETEs through
   * the whole run, each change applied in the same transaction to an unpartitioned oracle table. After
   * the run the partitioned table equals the oracle row for row: no committed write was lost.
   */
  @Test
  public void onlineEveryWriteMadeDuringTheRunIsInThePartitionedTable() throws Exception {
    try (Connection c = DB.connect()) {
      Db.execute(c, "CREATE TABLE rp.oracle (LIKE rp.events INCLUDING DEFAULTS INCLUDING GENERATED)");
      Db.execute(c, "INSERT INTO rp.oracle (id, happened_at, kind, amount, note) "
          + "SELECT id, happened_at, kind, amount, note FROM rp.events");
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong committed = new AtomicLong();
    AtomicReference<Throwable> writerError = new AtomicReference<>();
    Thread writer = new Thread(() -> writeBoth(stop, committed, writerError));
    writer.start();
    waitFor(committed, 50, writerError);
    Path report = Files.createTempFile("repartition-report", ".json");
    Launch run = launch("--table=rp.events", "--partitionColumn=happened_at", "--rangeRows=300",
        "--reportFile=" + report);
    waitFor(committed, committed.get() + 50, writerError); // and after the switch
    stop.set(true);
    writer.join();

    assertThat(run.err, run.code, equalTo(0));
    assertThat("writer", writerError.get() == null ? "" : writerError.get().toString(), equalTo(""));
    Matcher applied = Pattern.compile("catch-up round \\d+: ([\\d,]+) changed key|the last ([\\d,]+) changed key")
        .matcher(run.out);
    long keys = 0;
    while (applied.find()) {
      keys += Long.parseLong((applied.group(1) != null ? applied.group(1) : applied.group(2)).replace(",", ""));
    }
    assertThat("changes made during the run were caught up", keys, greaterThan(0L));
    assertThat(run.out, containsString("no key of the original is missing"));
    JsonNode details = new ObjectMapper().readTree(report.toFile()).get("details");
    assertThat(details.get("mode").asText(), equalTo("online"));
    assertThat(details.get("missingKeys").asLong(), equalTo(0L));
    assertThat("writers were blocked, briefly", details.get("writersBlockedSeconds").asDouble(), lessThan(60.0));
    assertThat("one partition scanned", details.get("oneMonthQueryScans").size(), equalTo(1));
    assertThat("a one-month query scans exactly one partition", Pattern.compile(
        "pruning     a one-month query scans events_p\\d{4}_\\d{2}\\n").matcher(run.out).find(), equalTo(true));
    try (Connection c = DB.connect()) {
      assertThat("partitioned", Db.queryString(c, "SELECT pg_get_partkeydef('rp.events'::regclass)"),
          equalTo("RANGE (happened_at)"));
      assertThat("the partitioned table = the oracle, row for row", exceptBothWays(c, "SELECT * FROM rp.events",
          "SELECT * FROM rp.oracle"), equalTo(0L));
      assertThat("rows outside their month's partition", Db.queryLong(c, "SELECT count(*) FROM rp.events t "
          + "JOIN pg_class k ON k.oid = t.tableoid WHERE k.relname <> CASE WHEN t.happened_at IS NULL OR to_regclass("
          + "'rp.events_p' || to_char(t.happened_at AT TIME ZONE 'UTC', 'YYYY_MM')) IS NULL THEN 'events_pdefault' "
          + "ELSE 'events_p' || to_char(t.happened_at AT TIME ZONE 'UTC', 'YYYY_MM') END"), equalTo(0L));
      assertThat("no capture trigger or function left", Db.queryLong(c, "SELECT (SELECT count(*) FROM pg_trigger WHERE "
          + "tgname LIKE '%repartition\\_capture') + (SELECT count(*) FROM pg_proc WHERE proname LIKE "
          + "'%repartition\\_capture')"), equalTo(0L));
      assertThat("no work tables left", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname LIKE "
          + "'events\\_\\_repartition%'"), equalTo(0L));
    }
  }

  /**
   * Online: a TRUNCATE of the original after the capture began (while the run builds the new
   * partitioned table's indexes, held there by an event trigger waiting for the test's advisory lock) cannot be caught up
   * row by row: the run fails in one line and the original stays as the TRUNCATE left it (empty, same
   * table), never with the removed rows brought back; nothing of the run is left; the next run works.
   */
  @Test
  public void aTruncateDuringAnOnlineRunFailsItAndIsNeverUndone() throws Exception {
    long oid = oid("rp.events");
    try (Connection gate = DB.connect()) {
      Db.execute(gate, "CREATE FUNCTION rp.truncate_gate() RETURNS event_trigger LANGUAGE plpgsql AS $$ BEGIN "
          + "IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() d JOIN pg_index i ON i.indexrelid = d.objid "
          + "JOIN pg_class t ON t.oid = i.indrelid WHERE d.command_tag = 'CREATE INDEX' AND t.relkind = 'p') "
          + "THEN PERFORM pg_advisory_xact_lock_shared(4245); "
          + "END IF; END $$");
      Db.execute(gate, "CREATE EVENT TRIGGER truncate_gate ON ddl_command_end EXECUTE FUNCTION rp.truncate_gate()");
      Db.execute(gate, "SELECT pg_advisory_lock(4245)");
      CompletableFuture<Launch> run = CompletableFuture.supplyAsync(
          () -> launch("--table=rp.events", "--partitionColumn=happened_at", "--rangeRows=300"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (Db.queryLong(gate, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4245 "
          + "AND NOT granted") == 0) {
        assertThat("the run reached its index build", System.nanoTime() < deadline && !run.isDone(), equalTo(true));
        Thread.sleep(20);
      }
      Db.execute(gate, "SET lock_timeout = '20s'");
      Db.execute(gate, "TRUNCATE rp.events");
      Db.execute(gate, "SELECT pg_advisory_unlock(4245)");
      Launch failed = run.get(120, TimeUnit.SECONDS);
      Db.execute(gate, "DROP EVENT TRIGGER truncate_gate");
      assertThat(failed.out + failed.err, failed.code, equalTo(1));
      assertThat(failed.err, containsString("rp.events was truncated during the run, which cannot be caught up row by "
          + "row; nothing changed"));
      assertThat("the same table", oid("rp.events"), equalTo(oid));
      assertThat("as the TRUNCATE left it", Db.queryLong(gate, "SELECT count(*) FROM rp.events"), equalTo(0L));
      assertThat("no capture trigger or function left", Db.queryLong(gate, "SELECT (SELECT count(*) FROM pg_trigger "
          + "WHERE tgname LIKE '%repartition\\_capture%') + (SELECT count(*) FROM pg_proc WHERE proname LIKE "
          + "'%repartition\\_capture')"), equalTo(0L));
      assertThat("no work tables or partitions left", Db.queryLong(gate, "SELECT count(*) FROM pg_class WHERE "
          + "relnamespace = 'rp'::regnamespace AND (relname LIKE 'events\\_\\_%' OR relname LIKE 'events\\_p%')"),
          equalTo(0L));
      Db.execute(gate, "INSERT INTO rp.events (id, happened_at, kind, amount, note) SELECT id, happened_at, kind, amount, note "
          + "FROM rp.orig_events");
    }
    Launch next = launch("--table=rp.events", "--partitionColumn=happened_at");
    assertThat(next.err, next.code, equalTo(0));
    try (Connection c = DB.connect()) {
      assertThat(exceptBothWays(c, "SELECT * FROM rp.events", "SELECT * FROM rp.orig_events"), equalTo(0L));
    }
  }

  @Test
  public void onlineIsRefusedWithOneLineForATableWithoutAKeyAndOfflineWorks() throws Exception {
    long oid = oid("rp.events");
    try (Connection c = DB.connect()) {
      Db.execute(c, "ALTER TABLE rp.events DROP CONSTRAINT events_id_key");
    }
    assertRefused(new String[] {"--table=rp.events", "--partitionColumn=happened_at"},
        "table rp.events has no primary key and no unique key on NOT NULL columns: the online mode needs one");
    try (Connection c = DB.connect()) {
      assertThat("same table", oid("rp.events"), equalTo(oid));
      assertThat("nothing created", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relnamespace = "
          + "'rp'::regnamespace AND (relname LIKE 'events\\_\\_%' OR relname LIKE 'events\\_p%')"), equalTo(0L));
    }
    Launch offline = launch("--table=rp.events", "--partitionColumn=happened_at", "--offline=true");
    assertThat(offline.err, offline.code, equalTo(0));
    try (Connection c = DB.connect()) {
      assertThat(exceptBothWays(c, "SELECT * FROM rp.events", "SELECT * FROM rp.orig_events"), equalTo(0L));
    }
  }

  /** The writer: one change a loop, to rp.events and to rp.oracle in one transaction (ids from a fixed seed). */
  private static void writeBoth(AtomicBoolean stop, AtomicLong committed, AtomicReference<Throwable> error) {
    Random random = new Random(7);
    try (Connection w = DB.connect()) {
      w.setAutoCommit(false);
      for (int i = 0; !stop.get(); i++) {
        long id = 1 + random.nextInt(2100);
        switch (i % 4) {
          case 0 -> {
            long newId = Db.queryLong(w, "INSERT INTO rp.events (happened_at, kind, amount, note) VALUES "
                + "(timestamptz '2024-06-15 12:00+00' + " + (i % 400) + " * interval '1 day', 'b', " + (i % 90)
                + ", 'written " + i + "') RETURNING id");
            Db.execute(w, "INSERT INTO rp.oracle (id, happened_at, kind, amount, note) SELECT " + newId + ", "
                + "timestamptz '2024-06-15 12:00+00' + " + (i % 400) + " * interval '1 day', 'b', " + (i % 90)
                + ", 'written " + i + "'");
          }
          case 1 -> bothTables(w, "UPDATE %s SET amount = amount + 1, note = 'updated " + i + "' WHERE id = " + id);
          case 2 -> bothTables(w, "UPDATE %s SET happened_at = happened_at + interval '40 days' WHERE id = " + id);
          default -> bothTables(w, "DELETE FROM %s WHERE id = " + id);
        }
        w.commit();
        committed.incrementAndGet();
        Thread.sleep(2); // a steady rate, not a synchronization
      }
    } catch (Throwable e) {
      error.set(e);
    }
  }

  private static void bothTables(Connection w, String sql) throws SQLException {
    Db.execute(w, String.format(sql, "rp.events"));
    Db.execute(w, String.format(sql, "rp.oracle"));
  }

  /** Waits (bounded) until the writer has committed {@code count} changes. */
  private static void waitFor(AtomicLong committed, long count, AtomicReference<Throwable> error) throws Exception {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (committed.get() < count && error.get() == null) {
      assertThat("the writer stalled", System.nanoTime() < deadline, equalTo(true));
      Thread.sleep(10);
    }
  }

  /**
   * A view (with an option, a comment, a grant and another owner), a view on that view, a foreign key
   * referencing the table and a user trigger: after the run they work on the partitioned table, after
   * the rollback on the original again.
   */
  @Test
  public void viewsForeignKeysAndTriggersFollowTheTableAndComeBackWithTheRollback() throws Exception {
    long oid = oid("rp.events");
    try (Connection c = DB.connect()) {
      Db.execute(c, "ALTER TABLE rp.events ADD CONSTRAINT events_id_at_key UNIQUE (id, happened_at)");
      Db.execute(c, "CREATE TABLE rp.notes (event_id int, event_at timestamptz, body text, CONSTRAINT notes_event_fkey "
          + "FOREIGN KEY (event_id, event_at) REFERENCES rp.events (id, happened_at))");
      Db.execute(c, "INSERT INTO rp.notes SELECT id, happened_at, 'note' FROM rp.events WHERE id % 10 = 0");
      Db.execute(c, "CREATE VIEW rp.big_events WITH (security_barrier) AS SELECT id, happened_at, amount FROM rp.events "
          + "WHERE amount > 100");
      Db.execute(c, "CREATE VIEW rp.big_events_by_month AS SELECT date_trunc('month', happened_at) AS m, count(*) AS n "
          + "FROM rp.big_events GROUP BY 1");
      Db.execute(c, "COMMENT ON VIEW rp.big_events IS 'large amounts'");
      Db.execute(c, "GRANT SELECT ON rp.big_events TO " + ROLE);
      Db.execute(c, "ALTER VIEW rp.big_events OWNER TO " + ROLE);
      Db.execute(c, "CREATE TABLE rp.audit (op text, id int)");
      Db.execute(c, "CREATE FUNCTION rp.audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          + "INSERT INTO rp.audit VALUES (TG_OP, coalesce(NEW.id, OLD.id)); RETURN NULL; END $$");
      Db.execute(c, "CREATE TRIGGER events_audit AFTER INSERT OR DELETE ON rp.events FOR EACH ROW "
          + "EXECUTE FUNCTION rp.audit()");
      Db.execute(c, "CREATE TABLE rp.view_before AS SELECT * FROM rp.big_events_by_month");
    }
    Launch run = launch("--table=rp.events", "--partitionColumn=happened_at");
    assertThat(run.err, run.code, equalTo(0));
    assertThat(run.out, containsString("followed the table: view rp.big_events, foreign key notes_event_fkey on rp.notes, "
        + "trigger events_audit"));
    assertDependentsWork("partitioned");

    Launch back = launch("--table=rp.events", "--rollback=true");
    assertThat(back.err, back.code, equalTo(0));
    assertThat("the original is back", oid("rp.events"), equalTo(oid));
    assertDependentsWork("original");
  }

  /** The views read rp.events as it is now, with their options, comment, grant and owner; the FK and the trigger work. */
  private static void assertDependentsWork(String which) throws SQLException {
    try (Connection c = DB.connect()) {
      long table = Db.queryLong(c, "SELECT 'rp.events'::regclass::oid::bigint");
      assertThat(which + ": the view reads rp.events", Db.queryLong(c, "SELECT count(*) FROM pg_depend d JOIN pg_rewrite r "
          + "ON r.oid = d.objid WHERE r.ev_class = 'rp.big_events'::regclass AND d.refobjid = " + table), greaterThan(0L));
      assertThat(which + ": the view on the view, same rows", exceptBothWays(c, "SELECT * FROM rp.big_events_by_month",
          "SELECT * FROM rp.view_before"), equalTo(0L));
      assertThat(which + ": option, comment, grant, owner", Db.queryString(c, "SELECT array_to_string(reloptions, ',') "
          + "|| '/' || obj_description(oid, 'pg_class') || '/' || has_table_privilege('" + ROLE + "', oid, 'SELECT') "
          + "|| '/' || pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'rp.big_events'::regclass"),
          equalTo("security_barrier=true/large amounts/true/" + ROLE));
      assertThat(which + ": the foreign key references rp.events, validated", Db.queryString(c, "SELECT "
          + "(confrelid = " + table + ")::text || '/' || convalidated FROM pg_constraint WHERE conname = 'notes_event_fkey'"),
          equalTo("true/true"));
      long audited = Db.queryLong(c, "SELECT count(*) FROM rp.audit");
      long id = Db.queryLong(c, "INSERT INTO rp.events (happened_at, kind, amount) VALUES ('2024-05-05', 'a', 1) RETURNING id");
      Db.execute(c, "DELETE FROM rp.events WHERE id = " + id);
      assertThat(which + ": the trigger fires once per change", Db.queryLong(c, "SELECT count(*) FROM rp.audit"),
          equalTo(audited + 2));
      assertThat(which + ": the foreign key is enforced", Db.queryLong(c, "SELECT count(*) FROM rp.notes n "
          + "WHERE n.event_at IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rp.events e WHERE e.id = n.event_id AND e.happened_at = n.event_at)"), equalTo(0L));
    }
  }

  @Test
  public void aPartitionThatLosesRowsFailsTheRunAndLeavesTheTableAsItWas() throws Exception {
    long oid = oid("rp.events");
    try (Connection c = DB.connect()) {
      // the fault: as soon as the run creates the partition of 2024-03, a trigger makes it drop every other row
      Db.execute(c, "CREATE FUNCTION rp.drop_some() RETURNS trigger LANGUAGE plpgsql AS "
          + "$$ BEGIN IF NEW.id % 2 = 0 THEN RETURN NULL; END IF; RETURN NEW; END $$");
      Db.execute(c, "CREATE FUNCTION rp.sabotage() RETURNS event_trigger LANGUAGE plpgsql AS $$ "
          + "BEGIN IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' "
          + "AND object_identity = 'rp.events_p2024_03') THEN "
          + "CREATE TRIGGER drop_some BEFORE INSERT ON rp.events_p2024_03 FOR EACH ROW EXECUTE FUNCTION rp.drop_some(); "
          + "END IF; END $$");
      Db.execute(c, "CREATE EVENT TRIGGER sabotage ON ddl_command_end EXECUTE FUNCTION rp.sabotage()");
    }
    Launch run = launch("--table=rp.events", "--partitionColumn=happened_at");
    try (Connection c = DB.connect()) {
      Db.execute(c, "DROP EVENT TRIGGER sabotage");
      assertThat(run.out, run.code, equalTo(1));
      assertThat(run.err, containsString("verification failed for partition events_p2024_03 of rp.events"));
      assertThat(run.err, containsString("nothing changed"));
      assertThat("same table", oid("rp.events"), equalTo(oid));
      assertThat(exceptBothWays(c, "SELECT * FROM rp.events", "SELECT * FROM rp.orig_events"), equalTo(0L));
      assertThat("nothing left behind", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relnamespace = "
          + "'rp'::regnamespace AND (relname LIKE 'events\\_\\_%' OR relname LIKE 'events\\_p%' OR relname LIKE '%backup')"),
          equalTo(0L));
    }
  }

  @Test
  public void whatTheMoveWouldBreakIsRefusedWithOneLineAndNothingChanges() throws Exception {
    long oid = oid("rp.events");
    Launch dry = launch("--table=rp.events", "--partitionColumn=happened_at", "--dryRun=true");
    assertThat(dry.err, dry.code, equalTo(0));
    assertThat(dry.out, containsString("UNIQUE events_id_key (id) becomes (id, happened_at)"));
    assertThat(dry.out, containsString("ALTER TABLE \"rp\".\"events\" RENAME TO \"events_unpartitioned_backup\""));

    Launch noColumn = launch("--table=rp.events");
    assertThat(noColumn.err, noColumn.code, equalTo(2));
    assertThat(noColumn.err, containsString("missing required option --partitionColumn"));
    assertRefused(new String[] {"--table=rp.events", "--partitionColumn=kind"},
        "column rp.events.kind is text: monthly partitions need a date, timestamp or timestamptz column");
    assertRefused(new String[] {"--table=rp.events", "--partitionColumn=nope"}, "rp.events has no column nope");
    assertRefused(new String[] {"--table=rp.nothing", "--partitionColumn=happened_at"}, "rp.nothing does not exist");
    try (Connection c = DB.connect()) {
      Db.execute(c, "ALTER TABLE rp.events ADD PRIMARY KEY (id)");
    }
    assertRefused(new String[] {"--table=rp.events", "--partitionColumn=happened_at"},
        "the primary key events_pkey of rp.events would have to include happened_at, which allows NULL");
    try (Connection c = DB.connect()) {
      Db.execute(c, "ALTER TABLE rp.events DROP CONSTRAINT events_pkey");
      Db.execute(c, "CREATE MATERIALIZED VIEW rp.per_kind AS SELECT kind, count(*) FROM rp.events GROUP BY kind");
    }
    assertRefused(new String[] {"--table=rp.events", "--partitionColumn=happened_at"},
        "materialized views or rules depend on it (they would keep reading the old table): rp.per_kind");
    try (Connection c = DB.connect()) {
      Db.execute(c, "DROP MATERIALIZED VIEW rp.per_kind");
      Db.execute(c, "CREATE TABLE rp.refs (event_id int REFERENCES rp.events (id))");
    }
    assertRefused(new String[] {"--table=rp.events", "--partitionColumn=happened_at"},
        "foreign keys reference it by a key without happened_at");
    try (Connection c = DB.connect()) {
      Db.execute(c, "DROP TABLE rp.refs");
      Db.execute(c, "CREATE TABLE rp.events_unpartitioned_backup (x int)");
    }
    assertRefused(new String[] {"--table=rp.events", "--partitionColumn=happened_at"},
        "table rp.events_unpartitioned_backup exists");
    try (Connection c = DB.connect()) {
      assertThat("same table", oid("rp.events"), equalTo(oid));
      assertThat(exceptBothWays(c, "SELECT * FROM rp.events", "SELECT * FROM rp.orig_events"), equalTo(0L));
      assertThat("nothing created", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relnamespace = "
          + "'rp'::regnamespace AND (relname LIKE 'events\\_\\_%' OR relname LIKE 'events\\_p%')"), equalTo(0L));
    }
  }

  @Test
  public void aWriterHoldingTheTableFailsTheRunWithOneLineAfterTheLockTimeout() throws Exception {
    long oid = oid("rp.events");
    try (Connection writer = DB.connect()) {
      writer.setAutoCommit(false);
      Db.execute(writer, "INSERT INTO rp.events (happened_at, kind, amount) VALUES (now(), 'a', 1)");
      assertRefused(new String[] {"--table=rp.events", "--partitionColumn=happened_at", "--lockTimeoutSeconds=1"},
          "could not lock rp.events within 1 s (a transaction is writing it); nothing changed");
      writer.rollback();
    }
    try (Connection c = DB.connect()) {
      assertThat("same table", oid("rp.events"), equalTo(oid));
      assertThat("nothing left behind", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relnamespace = "
          + "'rp'::regnamespace AND (relname LIKE 'events\\_\\_%' OR relname LIKE 'events\\_p%')"), equalTo(0L));
    }
  }

  private static void assertRefused(String[] args, String message) {
    Launch run = launch(args);
    assertThat(run.out, run.code, equalTo(1));
    assertThat(run.err, containsString(message));
    assertThat("one line and the WH_DEBUG hint, no stack trace", run.err.strip().split("\n").length, equalTo(2));
  }

  private static long oid(String table) throws SQLException {
    try (Connection c = DB.connect()) {
      return Db.queryLong(c, "SELECT '" + table + "'::regclass::oid::bigint");
    }
  }

  /** {@code scripts/run repartition …} in process, with the launcher's defaults (DirectRunner). */
  private static Launch launch(String... args) {
    List<String> a = new ArrayList<>(List.of("repartition"));
    a.addAll(Arrays.asList(DB.connectionArgs()));
    a.addAll(Arrays.asList(args));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = System.out; // the pipeline's progress goes there, as in scripts/run
    PrintStream captured = new PrintStream(out, true, StandardCharsets.UTF_8);
    System.setOut(captured);
    int code;
    try {
      code = Main.run(a.toArray(new String[0]), captured, new PrintStream(err, true, StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
    }
    stdout.print(out.toString(StandardCharsets.UTF_8));
    return new Launch(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }
}
