package org.warehouse.pipelines.aggregate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.warehouse.pipelines.Main;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.FixMethodOrder;
import org.junit.Test;
import org.junit.runners.MethodSorters;
import org.warehouse.testing.AggregateOracle;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/**
 * The aggregate pipeline end to end on Flink's embedded mini-cluster: equal to the SQL oracle on
 * more data, readers never see an empty or half-written table during the swap, and a failed run
 * (in the pipeline, or at swap time) leaves every agg table exactly as it was.
 */
@FixMethodOrder(MethodSorters.NAME_ASCENDING)
public class AggregateFlinkTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  @BeforeClass
  public static void loadData() throws Exception {
    AggregateTestData.loadReference(DB);
    AggregateTestData.generate(DB, "flink", 40_000, 11);
    try (Connection c = DB.connect()) {
      AggregateTestData.addEdgeCases(c);
    }
  }

  private static int runAggregate(ByteArrayOutputStream err, String... more) {
    String[] args = AggregatePipelineTest.concat(new String[] {"aggregate"}, AggregateTestData.args(DB, "flink", more));
    return Main.run(args, System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  @Test
  public void a_onFlinkEveryTableEqualsPostgresGroupBy() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    assertEquals(err.toString(StandardCharsets.UTF_8), 0, runAggregate(err));
    try (Connection c = DB.connect()) {
      AggregateOracle.assertEveryTableMatchesOracle(c);
    }
  }

  @Test
  public void b_readersSeeOldOrNewCompleteTablesDuringTheSwap() throws Exception {
    long oldTotal;
    try (Connection c = DB.connect()) {
      oldTotal = Db.queryLong(c, "SELECT sum(total_births) FROM agg_yearly");
      // New facts: the next run must publish different totals.
      Db.execute(c, "INSERT INTO fact_births SELECT birth_id + 10000000, birth_date, residence_municipality_code, "
          + "cnes_code, sex, birth_weight_g, gestational_weeks, mother_age, delivery_type, prenatal_visits "
          + "FROM fact_births WHERE birth_id <= 3000");
    }
    long newTotal = oldTotal + 3000;
    AtomicBoolean done = new AtomicBoolean();
    List<String> violations = new CopyOnWriteArrayList<>();
    AtomicLong reads = new AtomicLong();
    Thread reader = new Thread(() -> {
      try (Connection c = DB.connect(); Statement st = c.createStatement()) {
        while (!done.get()) {
          try (ResultSet rs = st.executeQuery("SELECT (SELECT sum(total_births) FROM agg_yearly), "
              + "(SELECT sum(total_births) FROM agg_municipality_monthly) + "
              + "(SELECT sum(total_births) FROM agg_unmatched_municipality), "
              + "(SELECT count(*) FROM agg_state_daily)")) {
            rs.next();
            long yearly = rs.getLong(1);
            long municipal = rs.getLong(2);
            if (yearly != oldTotal && yearly != newTotal) {
              violations.add("agg_yearly total " + yearly);
            }
            if (municipal != oldTotal && municipal != newTotal) {
              violations.add("municipality+unmatched total " + municipal);
            }
            if (rs.getLong(3) == 0) {
              violations.add("agg_state_daily empty");
            }
            reads.incrementAndGet();
          }
        }
      } catch (Exception e) {
        violations.add("reader failed: " + e);
      }
    });
    reader.start();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = runAggregate(err);
    Thread.sleep(200);
    done.set(true);
    reader.join();
    assertEquals(err.toString(StandardCharsets.UTF_8), 0, code);
    assertThat(violations, empty());
    assertTrue("the reader ran during the aggregate (" + reads.get() + " reads)", reads.get() > 10);
    try (Connection c = DB.connect()) {
      assertEquals(newTotal, Db.queryLong(c, "SELECT sum(total_births) FROM agg_yearly"));
      AggregateOracle.assertEveryTableMatchesOracle(c);
    }
  }

  @Test
  public void c_failureInsideThePipelineLeavesAggTablesAsTheyWere() throws Exception {
    String before;
    try (Connection c = DB.connect()) {
      before = AggregateOracle.checksumAll(c);
      // A fact table without the NOT NULL constraint, with one row the pipeline must refuse.
      Db.execute(c, "CREATE TABLE fact_bad AS SELECT * FROM fact_births");
      Db.execute(c, "ALTER TABLE fact_bad ALTER COLUMN birth_date DROP NOT NULL");
      Db.execute(c, "UPDATE fact_bad SET birth_date = NULL WHERE birth_id = 1234");
    }
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = runAggregate(err, "--factTable=fact_bad");
    String message = err.toString(StandardCharsets.UTF_8);
    assertEquals(message, 1, code);
    assertThat(message, containsString("birth_id=1234 has a NULL birth_date"));
    try (Connection c = DB.connect()) {
      assertEquals(before, AggregateOracle.checksumAll(c));
      assertEquals(0, Db.queryLong(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_staging%'"));
    }
  }

  @Test
  public void d_swapBlockedByALongReaderFailsCleanlyAndChangesNothing() throws Exception {
    String before;
    try (Connection c = DB.connect()) {
      before = AggregateOracle.checksumAll(c);
      Db.execute(c, "DELETE FROM fact_births WHERE birth_id > 10000000");
    }
    try (Connection holder = DB.connect()) {
      holder.setAutoCommit(false);
      Db.queryLong(holder, "SELECT count(*) FROM agg_monthly"); // holds ACCESS SHARE until rollback
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = runAggregate(err, "--lockTimeoutSeconds=2");
      holder.rollback();
      String message = err.toString(StandardCharsets.UTF_8);
      assertEquals(message, 1, code);
      assertThat(message, containsString("could not lock the target tables within 2 s"));
    }
    try (Connection c = DB.connect()) {
      assertEquals(before, AggregateOracle.checksumAll(c));
      assertEquals(0, Db.queryLong(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_staging%'"));
    }
  }
}
