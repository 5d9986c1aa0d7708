package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.warehouse.pipelines.DedupeTestSupport.checksum;
import static org.warehouse.pipelines.DedupeTestSupport.exceptBothWays;
import static org.warehouse.pipelines.DedupeTestSupport.options;
import static org.warehouse.pipelines.DedupeTestSupport.oracle;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/** Hand-built tables on DirectRunner: concurrent ETL inserts, dry run, failure = unchanged. */
public class DedupeConcurrencyTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  private static final String NOT_NULL = "a IS NOT NULL AND b IS NOT NULL";
  private static final String ANY_NULL = "(a IS NULL OR b IS NULL)";

  @Test
  public void rowsInsertedByAnotherConnectionDuringTheRunAreNotLost() throws Exception {
    try (Connection c = DB.connect()) {
      DedupeTestSupport.createHandBuilt(c, "conc", 3000);
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Exception> failure = new AtomicReference<>();
    List<long[]> inserted = new ArrayList<>(); // {id, a, b}
    Thread etl = new Thread(() -> {
      // The broken ETL: ON CONFLICT DO NOTHING without a target, a newer sync of old keys + new keys.
      try (Connection e = DB.connect();
          PreparedStatement ps = e.prepareStatement("INSERT INTO conc.t (a, b, payload, n, synced_at) "
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
                inserted.add(new long[] {rs.getLong(1), a, i % 3});
              }
            }
          }
          Thread.sleep(3);
        }
      } catch (Exception ex) {
        failure.set(ex);
      }
    }, "fake-etl");
    etl.start();
    Thread.sleep(300);
    RunReport report = new RunReport("dedupe");
    try {
      DedupePipeline.run(options(DB, "--table=conc.t", "--naturalKey=a,b", "--partialInDatabase=false"), report);
      Thread.sleep(300); // keep writing after the constraint exists
    } finally {
      stop.set(true);
      etl.join();
    }
    if (failure.get() != null) {
      throw failure.get();
    }
    java.util.Map<?, ?> details = (java.util.Map<?, ?>) report.toMap("x", 0, null).get("details");
    assertThat("the ETL inserted between snapshot and final step",
        ((Number) details.get("conc.t.insertedDuringRun")).longValue(), greaterThan(0L));
    try (Connection c = DB.connect()) {
      // Nothing lost: every row the ETL got an id for is in the table or in the backup of removed rows,
      // and every key it wrote has a row.
      for (long[] r : inserted) {
        long found = Db.queryLong(c, "SELECT (SELECT count(*) FROM conc.t WHERE id = " + r[0] + ") + (SELECT count(*) "
            + "FROM conc.t_dedupe_backup WHERE id = " + r[0] + ")");
        assertThat("ETL row id " + r[0], found, equalTo(1L));
        assertThat("key " + r[1] + "," + r[2], Db.queryLong(c, "SELECT count(*) FROM conc.t WHERE a = " + r[1]
            + " AND b = " + r[2]), equalTo(1L));
      }
      // The table is exactly the survivor rule applied to everything that ever existed.
      String all = "(SELECT * FROM conc.t UNION ALL SELECT * FROM conc.t_dedupe_backup) AS everything";
      assertThat(exceptBothWays(c, "SELECT * FROM conc.t", oracle(all, "a, b", NOT_NULL, ANY_NULL)), equalTo(0L));
    }
    assertThat(inserted.size(), greaterThan(10));
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
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname IN ('t_dedupe_backup', 't__dedupe_keep') "
          + "AND relnamespace = 'dry'::regnamespace"), equalTo(0L));
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
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    String[] args = DedupePipelineTest.concat(DedupePipelineTest.concat(new String[] {"dedupe"}, DB.connectionArgs()),
        "--table=fail.t", "--naturalKey=a,b", "--runner=DirectRunner");
    int code = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    String e = err.toString(StandardCharsets.UTF_8);
    assertThat(e, code, equalTo(1));
    assertThat(e, containsString("dedupe failed: "));
    assertThat(e, containsString("t_a_b_key"));
    try (Connection c = DB.connect()) {
      assertThat(checksum(c, "fail.t"), equalTo(before));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname IN ('t_dedupe_backup', 't__dedupe_keep') "
          + "AND relnamespace = 'fail'::regnamespace"),
          equalTo(0L));
    }
    // Usage errors exit 2 with the cause.
    err.reset();
    int usage = Main.run(DedupePipelineTest.concat(DedupePipelineTest.concat(new String[] {"dedupe"},
        DB.connectionArgs()), "--table=fail.t", "--naturalKey=a,b;drop", "--runner=DirectRunner"),
        new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    assertThat(usage, equalTo(2));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("not a valid identifier"));
  }
}
