package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assume.assumeTrue;
import static org.warehouse.pipelines.DedupeTestSupport.checksum;
import static org.warehouse.pipelines.DedupeTestSupport.exceptBothWays;
import static org.warehouse.pipelines.DedupeTestSupport.options;
import static org.warehouse.pipelines.DedupeTestSupport.oracle;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.dedupe.DedupeSql;
import org.warehouse.pipelines.dedupe.DedupePipeline;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/** Hand-built tables on DirectRunner: concurrent ETL inserts, dry run, failure = unchanged. */
public class DedupeConcurrencyTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  private static final String NOT_NULL = "a IS NOT NULL AND b IS NOT NULL";
  private static final String ANY_NULL = "(a IS NULL OR b IS NULL)";
  /** A pg_class condition matching the run's work tables ({@code t__dedupe_keep_<run id>}, {@code t__dedupe_copy_…}). */
  static final String WORK_TABLE = "relname LIKE 't\\_\\_dedupe\\_%'";

  /** The one work table of {@code kind} (keep, copy) in {@code schema}, as schema.name. */
  static String workTable(Connection c, String schema, String kind) throws java.sql.SQLException {
    return schema + "." + Db.queryString(c, "SELECT relname FROM pg_class WHERE relnamespace = '" + schema
        + "'::regnamespace AND relname LIKE 't\\_\\_dedupe\\_" + kind + "\\_%'");
  }

  @Test
  public void rowsInsertedByAnotherConnectionDuringTheRunAreNotLost() throws Exception {
    rowsInsertedDuringTheRunAreNotLost("conc", true);
  }

  /** The same on a table without an index on id (the final step then reads it in one scan). */
  @Test
  public void rowsInsertedDuringTheRunIntoATableWithoutAnIdIndexAreNotLost() throws Exception {
    rowsInsertedDuringTheRunAreNotLost("concnoidx", false);
  }

  private static void rowsInsertedDuringTheRunAreNotLost(String schema, boolean idIndex) throws Exception {
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, schema, 3000);
      if (!idIndex) {
        Db.execute(c, "ALTER TABLE " + schema + ".t DROP CONSTRAINT t_pkey");
      }
      assertThat(DedupeSql.idIndexed(c, org.warehouse.transforms.jdbc.TableRef.of(schema, "t")), equalTo(idIndex));
    }
    FakeEtl etl = FakeEtl.start(schema);
    RunReport report = new RunReport("dedupe");
    try {
      DedupePipeline.run(options(DB, "--table=" + schema + ".t", "--naturalKey=a,b", "--partialInDatabase=false"),
          report);
      etl.awaitMore(20); // keep writing after the constraint exists
    } finally {
      etl.stop();
    }
    List<EtlRow> inserted = etl.inserted;
    java.util.Map<?, ?> details = (java.util.Map<?, ?>) report.toMap("x", 0, null).get("details");
    assertThat("the ETL inserted between snapshot and final step",
        ((Number) details.get(schema + ".t.insertedDuringRun")).longValue(), greaterThan(0L));
    assertNothingLost(schema, inserted);
  }

  /**
   * Every row the ETL got an id for is in the table or in the backup, every key it wrote has a row, the
   * backup holds every row up to the snapshot and, after it, only removed rows, and the table is exactly
   * the survivor rule applied to everything that ever existed (table ∪ backup).
   */
  static void assertNothingLost(String schema, List<EtlRow> inserted) throws Exception {
    String t = schema + ".t";
    String backup = schema + ".t_dedupe_backup";
    try (Connection c = DB.connect()) {
      for (EtlRow r : inserted) {
        long found = Db.queryLong(c, "SELECT (SELECT count(*) FROM " + t + " WHERE id = " + r.id() + ") + (SELECT count(*) "
            + "FROM " + backup + " WHERE id = " + r.id() + ")");
        assertThat("ETL row id " + r.id(), found, greaterThan(0L));
        assertThat("key " + r.a() + "," + r.b(), Db.queryLong(c, "SELECT count(*) FROM " + t + " WHERE a = " + r.a()
            + " AND b = " + r.b()), equalTo(1L));
      }
      long snapshot = Db.queryLong(c, "SELECT (obj_description('" + backup + "'::regclass, 'pg_class')::json"
          + "->>'snapshotMaxId')::bigint");
      assertThat("backup rows after the snapshot were removed", Db.queryLong(c, "SELECT count(*) FROM " + backup
          + " b JOIN " + t + " USING (id) WHERE id > " + snapshot), equalTo(0L));
      assertThat("every row up to the snapshot is in the backup", Db.queryLong(c, "SELECT count(*) FROM " + t
          + " x WHERE id <= " + snapshot + " AND NOT EXISTS (SELECT 1 FROM " + backup + " b WHERE b.id = x.id)"),
          equalTo(0L));
      String all = "(SELECT * FROM " + t + " UNION SELECT * FROM " + backup + ") AS everything";
      assertThat(exceptBothWays(c, "SELECT * FROM " + t, oracle(all, "a, b", NOT_NULL, ANY_NULL)), equalTo(0L));
    }
    assertThat(inserted.size(), greaterThan(10));
  }

  /** A row the fake ETL inserted: its id and natural key (a, b). */
  record EtlRow(long id, long a, long b) {}

  /**
   * The broken ETL on another connection: ON CONFLICT DO NOTHING without a target, every 3 ms a newer
   * sync of an old key or a new key; remembers every row it inserted.
   */
  static final class FakeEtl {
    final List<EtlRow> inserted = new ArrayList<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicReference<Exception> failure = new AtomicReference<>();
    private Thread thread;

    static FakeEtl start(String schema) throws Exception {
      FakeEtl f = new FakeEtl();
      f.thread = new Thread(() -> f.run(schema), "fake-etl");
      f.thread.start();
      f.awaitMore(20);
      return f;
    }

    /** Waits (bounded) until the ETL has inserted {@code n} more rows than now. */
    void awaitMore(int n) throws Exception {
      int target;
      synchronized (inserted) {
        target = inserted.size() + n;
      }
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (true) {
        synchronized (inserted) {
          if (inserted.size() >= target) {
            return;
          }
        }
        if (failure.get() != null) {
          throw failure.get();
        }
        assertThat("the ETL inserts " + n + " rows within 60 s", System.nanoTime() < deadline, equalTo(true));
        Thread.sleep(5);
      }
    }

    private void run(String schema) {
      try (Connection e = DB.connect();
          PreparedStatement ps = e.prepareStatement("INSERT INTO " + schema + ".t (a, b, payload, n, synced_at) "
              + "VALUES (?, ?, 'etl ' || ?, ?, now()) ON CONFLICT DO NOTHING RETURNING id")) {
        for (int i = 0; !stop.get(); i++) {
          long a = i % 3 == 0 ? 1000 + i : i % 50;
          ps.setLong(1, a);
          ps.setLong(2, i % 3);
          ps.setInt(3, i);
          ps.setInt(4, i);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              synchronized (inserted) {
                inserted.add(new EtlRow(rs.getLong(1), a, i % 3));
              }
            }
          }
          Thread.sleep(3);
        }
      } catch (Exception ex) {
        failure.set(ex);
      }
    }

    void stop() throws Exception {
      stop.set(true);
      thread.join();
      if (failure.get() != null) {
        throw failure.get();
      }
    }
  }

  @Test
  public void aTableReferencedByAForeignKeyTakesTheDeletePathLosesNothingAndRollsBack() throws Exception {
    long oid;
    long refId;
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, "fkp", 3000);
      // TRUNCATE would need CASCADE: another table references this one (a NULL-key row, always kept).
      Db.execute(c, "CREATE TABLE fkp.ref (t_id bigint NOT NULL REFERENCES fkp.t (id), note text)");
      refId = Db.queryLong(c, "SELECT id FROM fkp.t WHERE b IS NULL");
      Db.execute(c, "INSERT INTO fkp.ref VALUES (" + refId + ", 'points at a NULL-key row')");
      Db.execute(c, "CREATE TABLE fkp.orig AS SELECT * FROM fkp.t");
      oid = Db.queryLong(c, "SELECT 'fkp.t'::regclass::oid::bigint");
    }
    FakeEtl etl = FakeEtl.start("fkp");
    RunReport report = new RunReport("dedupe");
    try {
      DedupePipeline.run(options(DB, "--table=fkp.t", "--naturalKey=a,b"), report);
      etl.awaitMore(20);
    } finally {
      etl.stop();
    }
    java.util.Map<?, ?> details = (java.util.Map<?, ?>) report.toMap("x", 0, null).get("details");
    assertThat(String.valueOf(details.get("fkp.t.replacedBy")), equalTo("delete"));
    assertThat(((Number) details.get("fkp.t.insertedDuringRun")).longValue(), greaterThan(0L));
    assertNothingLost("fkp", etl.inserted);
    try (Connection c = DB.connect()) {
      assertThat(Db.queryLong(c, "SELECT 'fkp.t'::regclass::oid::bigint"), equalTo(oid));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_constraint WHERE confrelid = 'fkp.t'::regclass AND contype = 'f'"),
          equalTo(1L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM fkp.ref r JOIN fkp.t ON t.id = r.t_id"), equalTo(1L));
      Db.execute(c, "CREATE TABLE fkp.after_t AS SELECT * FROM fkp.t");
      Db.execute(c, "CREATE TABLE fkp.after_backup AS SELECT * FROM fkp.t_dedupe_backup");
    }
    DedupePipeline.run(options(DB, "--table=fkp.t", "--naturalKey=a,b", "--rollback"));
    try (Connection c = DB.connect()) {
      // Rolled back: every row that ever existed, exactly once; the original rows all there; ref intact.
      assertThat(exceptBothWays(c, "SELECT * FROM fkp.t", "(SELECT * FROM fkp.after_t) UNION (SELECT * FROM fkp.after_backup)"),
          equalTo(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM ((SELECT * FROM fkp.orig) EXCEPT ALL (SELECT * FROM fkp.t)) x"),
          equalTo(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM fkp.ref WHERE t_id = " + refId), equalTo(1L));
      assertThat(Db.tableExists(c, org.warehouse.transforms.jdbc.TableRef.of("fkp", "t_dedupe_backup")), equalTo(false));
    }
  }

  @Test
  public void aCascadingForeignKeyIsRefusedBeforeAnythingChanges() throws Exception {
    String before;
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, "cas", 500);
      Db.execute(c, "CREATE TABLE cas.ref (t_id bigint REFERENCES cas.t (id) ON DELETE CASCADE)");
      Db.execute(c, "INSERT INTO cas.ref SELECT min(id) FROM cas.t");
      before = checksum(c, "cas.t") + "|" + checksum(c, "cas.ref");
    }
    DedupeTestSupport.Launch run = DedupeTestSupport.launchDedupe(DB, "--table=cas.t", "--naturalKey=a,b",
        "--runner=DirectRunner");
    String e = run.err;
    assertThat(e, run.code, equalTo(1));
    assertThat(e, containsString("ON DELETE"));
    try (Connection c = DB.connect()) {
      assertThat(checksum(c, "cas.t") + "|" + checksum(c, "cas.ref"), equalTo(before));
    }
  }

  @Test
  public void readersAreBlockedOnlyByTheShortFinalStep() throws Exception {
    long rows;
    long expectedKept;
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, "lck", 3000);
      rows = Db.countRows(c, org.warehouse.transforms.jdbc.TableRef.of("lck", "t"));
      expectedKept = Db.queryLong(c, "SELECT count(*) FROM (" + oracle("lck.t", "a, b", NOT_NULL, ANY_NULL) + ") x");
    }
    try (Connection reader = DB.connect(); Connection monitor = DB.connect()) {
      // A reader's open transaction holds ACCESS SHARE on the table for the whole run.
      reader.setAutoCommit(false);
      assertThat(Db.queryLong(reader, "SELECT count(*) FROM lck.t"), equalTo(rows));
      RunReport report = new RunReport("dedupe");
      AtomicReference<Exception> failure = new AtomicReference<>();
      long started = System.nanoTime();
      Thread run = new Thread(() -> {
        try {
          DedupePipeline.run(options(DB, "--table=lck.t", "--naturalKey=a,b", "--lockTimeoutSeconds=300"), report);
        } catch (Exception ex) {
          failure.set(ex);
        }
      }, "dedupe");
      run.start();
      long nonBlockingNanos;
      try {
        // Snapshot, backup copy and pipeline all ran past the reader: the first thing that waits for it is the
        // final step's ACCESS EXCLUSIVE lock.
        String waiting = "SELECT count(*) FROM pg_locks WHERE relation = 'lck.t'::regclass AND NOT granted";
        long deadline = System.nanoTime() + 240_000_000_000L;
        while (Db.queryLong(monitor, waiting) == 0 && run.isAlive() && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        nonBlockingNanos = System.nanoTime() - started;
        assertThat("dedupe waits for the reader", Db.queryLong(monitor, "SELECT count(*) FROM pg_locks WHERE relation = "
            + "'lck.t'::regclass AND NOT granted AND mode = 'AccessExclusiveLock'"), equalTo(1L));
        assertThat("pipeline done before the lock", Db.queryLong(monitor, "SELECT count(*) FROM "
            + workTable(monitor, "lck", "keep")), equalTo(expectedKept));
        // (the final step has renamed the copy in its open transaction: read the statistics, which take no lock;
        // the copy's idle worker connection reports them within PostgreSQL's stats interval, so poll, bounded)
        String copied = "SELECT coalesce(sum(n_tup_ins), 0) FROM pg_stat_user_tables WHERE schemaname = 'lck' "
            + "AND relname LIKE 't\\_\\_dedupe\\_copy\\_%'";
        long statsDeadline = System.nanoTime() + 30_000_000_000L;
        while (Db.queryLong(monitor, copied) < rows && System.nanoTime() < statsDeadline) {
          Thread.sleep(50);
        }
        assertThat("backup written before the lock", Db.queryLong(monitor, copied), equalTo(rows));
        assertThat("the reader still sees every row", Db.queryLong(reader, "SELECT count(*) FROM lck.t"), equalTo(rows));
      } finally {
        reader.commit(); // on a failed assertion too: let the run finish before the next test
        run.join();
      }
      if (failure.get() != null) {
        throw failure.get();
      }
      java.util.Map<?, ?> details = (java.util.Map<?, ?>) report.toMap("x", 0, null).get("details");
      long heldMillis = ((Number) details.get("lck.t.lockHeldMillis")).longValue();
      assertThat("lock held " + heldMillis + " ms, the rest of the run took " + nonBlockingNanos / 1_000_000 + " ms",
          heldMillis * 1_000_000 < nonBlockingNanos, equalTo(true));
      assertThat(exceptBothWays(monitor, "SELECT * FROM lck.t", oracle("lck.t_dedupe_backup", "a, b", NOT_NULL, ANY_NULL)),
          equalTo(0L));
    }
  }

  @Test
  public void dryRunReportsTheSqlFiguresAndChangesNothing() throws Exception {
    String before;
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, "dry", 2000);
      before = checksum(c, "dry.t");
    }
    RunReport report = new RunReport("dedupe");
    DedupePipeline.run(options(DB, "--table=dry.t", "--naturalKey=a,b", "--dryRun"), report);
    java.util.Map<?, ?> details = (java.util.Map<?, ?>) report.toMap("x", 0, null).get("details");
    try (Connection c = DB.connect()) {
      assertThat(checksum(c, "dry.t"), equalTo(before));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE (relname = 't_dedupe_backup' OR "
          + WORK_TABLE + ") AND relnamespace = 'dry'::regnamespace"), equalTo(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_constraint WHERE conrelid = 'dry.t'::regclass AND contype = 'u'"),
          equalTo(0L));
      long distinct = Db.queryLong(c, "SELECT count(DISTINCT (a, b)) FROM dry.t WHERE " + NOT_NULL);
      long nullKeys = Db.queryLong(c, "SELECT count(*) FROM dry.t WHERE " + ANY_NULL);
      assertThat(((Number) details.get("dry.t.distinctKeys")).longValue(), equalTo(distinct));
      assertThat(((Number) details.get("dry.t.nullKeyRows")).longValue(), equalTo(nullKeys));
      assertThat(((Number) details.get("dry.t.duplicates")).longValue(),
          equalTo(Db.countRows(c, org.warehouse.transforms.jdbc.TableRef.of("dry", "t")) - distinct - nullKeys));
    }
  }

  /**
   * A survivor that someone deletes between the pipeline's choice and the final step: the final step
   * notices (it finds fewer survivors than the pipeline chose), changes nothing and exits 1. The delete
   * is made by an event trigger that fires when the pipeline adds the key of its survivor table.
   */
  @Test
  public void aSurvivorDeletedDuringTheRunStopsTheFinalStepAndChangesNothing() throws Exception {
    aSurvivorDeletedDuringTheRunChangesNothing("gone", true);
  }

  @Test
  public void aSurvivorDeletedDuringTheRunFromATableWithoutAnIdIndexStopsTheFinalStepToo() throws Exception {
    aSurvivorDeletedDuringTheRunChangesNothing("gonenoidx", false);
  }

  private static void aSurvivorDeletedDuringTheRunChangesNothing(String schema, boolean idIndex) throws Exception {
    String afterDelete;
    long deleted;
    try (Connection c = DB.connect()) {
      assumeTrue("event triggers need a superuser", Db.queryLong(c, "SELECT rolsuper::int FROM pg_roles "
          + "WHERE rolname = current_user") == 1);
      DedupeTestSupport.createHandBuilt(c, schema, 1500);
      if (!idIndex) {
        Db.execute(c, "ALTER TABLE " + schema + ".t DROP CONSTRAINT t_pkey");
      }
      assertThat(DedupeSql.idIndexed(c, org.warehouse.transforms.jdbc.TableRef.of(schema, "t")), equalTo(idIndex));
      Db.execute(c, "CREATE TABLE " + schema + ".before AS SELECT * FROM " + schema + ".t");
      Db.execute(c, "CREATE TABLE " + schema + ".deleted (id bigint)");
      Db.execute(c, "CREATE FUNCTION " + schema + ".delete_a_survivor() RETURNS event_trigger LANGUAGE plpgsql "
          + "AS $$ DECLARE keep text; BEGIN SELECT object_identity INTO keep FROM pg_event_trigger_ddl_commands() "
          + "WHERE object_identity LIKE '" + schema + ".t\\_\\_dedupe\\_keep\\_%' LIMIT 1; IF keep IS NOT NULL THEN "
          + "EXECUTE format('WITH d AS (DELETE FROM " + schema + ".t WHERE id = (SELECT max(id) FROM %s) "
          + "RETURNING id) INSERT INTO " + schema + ".deleted SELECT id FROM d', keep); END IF; END $$");
      Db.execute(c, "CREATE EVENT TRIGGER gone_delete_a_survivor ON ddl_command_end WHEN TAG IN ('ALTER TABLE') "
          + "EXECUTE FUNCTION " + schema + ".delete_a_survivor()");
    }
    DedupeTestSupport.Launch run;
    try {
      run = DedupeTestSupport.launchDedupe(DB, "--table=" + schema + ".t", "--naturalKey=a,b", "--runner=DirectRunner");
    } finally {
      try (Connection c = DB.connect()) {
        Db.execute(c, "DROP EVENT TRIGGER gone_delete_a_survivor");
      }
    }
    assertThat(run.err, run.code, equalTo(1));
    assertThat(run.err, containsString("table " + schema + ".t: 1 surviving row(s) were deleted or changed by someone "
        + "else during the run; nothing was changed, re-run dedupe"));
    try (Connection c = DB.connect()) {
      deleted = Db.queryLong(c, "SELECT id FROM " + schema + ".deleted");
      afterDelete = checksum(c, schema + ".t");
      // the table is what it was minus the one row deleted
      Db.execute(c, "DELETE FROM " + schema + ".before WHERE id = " + deleted);
      assertThat(afterDelete, equalTo(checksum(c, schema + ".before")));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE (relname = 't_dedupe_backup' OR "
          + WORK_TABLE + ") AND relnamespace = '" + schema + "'::regnamespace"), equalTo(0L));
      assertThat("no unique constraint added", Db.queryLong(c, "SELECT count(*) FROM pg_constraint "
          + "WHERE conrelid = '" + schema + ".t'::regclass AND contype = 'u'"), equalTo(0L));
    }
  }

  @Test
  public void aFailureInTheFinalStepLeavesTheTableAsItWasAndExitsOne() throws Exception {
    String before;
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, "fail", 1500);
      // An unrelated index already owns the constraint's name: CREATE UNIQUE INDEX fails after the DELETE.
      Db.execute(c, "CREATE TABLE fail.other (x int)");
      Db.execute(c, "CREATE INDEX t_a_b_key ON fail.other (x)");
      before = checksum(c, "fail.t");
    }
    DedupeTestSupport.Launch run = DedupeTestSupport.launchDedupe(DB, "--table=fail.t", "--naturalKey=a,b",
        "--runner=DirectRunner");
    String e = run.err;
    assertThat(e, run.code, equalTo(1));
    assertThat(e, containsString("dedupe failed: "));
    assertThat(e, containsString("t_a_b_key"));
    try (Connection c = DB.connect()) {
      assertThat(checksum(c, "fail.t"), equalTo(before));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE (relname = 't_dedupe_backup' OR "
          + WORK_TABLE + ") AND relnamespace = 'fail'::regnamespace"),
          equalTo(0L));
    }
    // Usage errors exit 2 with the cause.
    DedupeTestSupport.Launch usage = DedupeTestSupport.launchDedupe(DB, "--table=fail.t", "--naturalKey=a,b;drop",
        "--runner=DirectRunner");
    assertThat(usage.code, equalTo(2));
    assertThat(usage.err, containsString("not a valid identifier"));
  }
}
