package org.warehouse.pipelines.aggregate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import org.warehouse.pipelines.Main;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.testing.AggregateOracle;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.jdbc.Db;

/**
 * The aggregate pipeline on the DirectRunner against real PostgreSQL: every table equals what
 * PostgreSQL computes in SQL, totals reconcile, re-runs are identical. Small data (DirectRunner).
 */
public class AggregatePipelineTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  @BeforeClass
  public static void loadData() throws Exception {
    AggregateTestData.loadReference(DB);
    AggregateTestData.generate(DB, "direct", 2_000, 7);
    try (Connection c = DB.connect()) {
      AggregateTestData.addEdgeCases(c);
    }
    AggregatePipeline.run(AggregateTestData.options(AggregatePipeline.AggregateOptions.class,
        AggregateTestData.args(DB, "direct", "--partitions=3")));
  }

  @Test
  public void everyAggTableEqualsPostgresGroupBy() throws Exception {
    try (Connection c = DB.connect()) {
      AggregateOracle.assertEveryTableMatchesOracle(c);
    }
  }

  @Test
  public void totalsReconcileWithTheFactTable() throws Exception {
    try (Connection c = DB.connect()) {
      long facts = Db.countRows(c, org.warehouse.transforms.jdbc.TableRef.of("public", "fact_births"));
      long withCnes = Db.queryLong(c, "SELECT count(cnes_code) FROM fact_births");
      long unmatched = Db.queryLong(c, "SELECT sum(total_births) FROM agg_unmatched_municipality");
      // Unmatched with no state: codes outside 100000..999999 or whose first two digits name no state.
      long noState = Db.queryLong(c, "SELECT count(*) FROM fact_births f WHERE NOT EXISTS ("
          + "SELECT 1 FROM dim_ibge_id_states s WHERE s.state_code = CASE WHEN f.residence_municipality_code "
          + "BETWEEN 100000 AND 999999 THEN f.residence_municipality_code / 10000 END)");
      assertEquals(facts, sum(c, "agg_yearly"));
      assertEquals(facts, sum(c, "agg_monthly"));
      assertEquals(facts - noState, sum(c, "agg_region_daily"));
      assertEquals(facts - noState, sum(c, "agg_state_monthly"));
      assertEquals(facts, sum(c, "agg_municipality_monthly") + unmatched);
      assertEquals(facts, sum(c, "agg_municipality_yearly") + unmatched);
      assertEquals(withCnes, sum(c, "agg_cnes_yearly"));
      // The edge cases: 350000, 359999, 990000, 0, NULL (→0), 3550308 never match a municipality.
      assertEquals(1, Db.queryLong(c, "SELECT count(*) FROM agg_unmatched_municipality WHERE code6 = 990000"));
      assertEquals(1, Db.queryLong(c, "SELECT sum(total_births) FROM agg_unmatched_municipality WHERE code6 = 3550308"));
      assertEquals(2, Db.queryLong(c, "SELECT sum(total_births) FROM agg_unmatched_municipality WHERE code6 = 0 AND year IN (2020, 2021)"));
    }
  }

  @Test
  public void nullMeasuresAndBoundariesCountAsDefined() throws Exception {
    try (Connection c = DB.connect()) {
      // Brasília (530010, renamed with a tab and backslash to test escaping) on 2023-07-07 has only the
      // two all-NULL edge rows unless the generator also put births there; compare with SQL directly.
      assertEquals("municipality name with tab/backslash survives COPY",
          Db.queryLong(c, "SELECT count(DISTINCT extract(year FROM birth_date)) FROM fact_births WHERE residence_municipality_code = 530010"),
          Db.queryLong(c, "SELECT count(*) FROM agg_municipality_yearly WHERE municipality_name = 'Brasília\\\tDF'"));
      assertEquals(Db.queryLong(c, "SELECT count(*) FROM fact_births WHERE birth_date = '2023-07-07' "
              + "AND residence_municipality_code / 10000 = 53 AND residence_municipality_code BETWEEN 100000 AND 999999"),
          Db.queryLong(c, "SELECT total_births FROM agg_state_daily WHERE state_code = 53 AND birth_date = '2023-07-07'"));
      assertEquals(3, Db.queryLong(c, "SELECT count(*) FROM agg_region_daily WHERE birth_date IN "
          + "('2016-02-29', '2020-02-29', '2024-02-29') AND region_code = 3"));
    }
  }

  @Test
  public void generatedBirthsExerciseTheCategoryRule() throws Exception {
    try (Connection c = DB.connect()) {
      assertThat(Db.queryLong(c, "SELECT count(*) FROM fact_births WHERE gestational_weeks IS NULL "
          + "AND gestation_category BETWEEN 1 AND 4"), greaterThan(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM fact_births WHERE prenatal_visits IS NULL "
          + "AND prenatal_category = 4"), greaterThan(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM fact_births WHERE gestational_weeks IS NOT NULL "
          + "AND gestation_category IS NOT NULL"), greaterThan(0L));
    }
  }

  @Test
  public void rerunProducesIdenticalTables() throws Exception {
    try (Connection c = DB.connect()) {
      String before = AggregateOracle.checksumAll(c);
      AggregatePipeline.run(AggregateTestData.options(AggregatePipeline.AggregateOptions.class,
          AggregateTestData.args(DB, "direct", "--partitions=2")));
      assertEquals(before, AggregateOracle.checksumAll(c));
      assertEquals("no staging tables left behind", 0,
          Db.queryLong(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE '%\\_\\_staging%'"));
      assertEquals("every agg table has its primary key", AggTable.values().length,
          Db.queryLong(c, "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conname LIKE 'agg\\_%\\_pkey'"));
    }
  }

  @Test
  public void launcherWritesReportWithoutPassword() throws Exception {
    Path report = Files.createTempFile("agg-report", ".json");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(concat(new String[] {"aggregate"}, AggregateTestData.args(DB, "direct",
            "--reportFile=" + report)), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(err.toString(StandardCharsets.UTF_8), 0, code);
    String json = Files.readString(report);
    String password = Files.readString(Path.of(DB.passwordFile())).strip();
    assertThat(json, containsString("\"status\" : \"SUCCEEDED\""));
    assertThat(json, containsString("\"name\" : \"agg_municipality_monthly\""));
    assertThat(json, containsString("unmatchedMunicipalityBirths"));
    assertThat(json, not(containsString(password)));
    assertThat(out.toString(StandardCharsets.UTF_8) + err, not(containsString(password)));
  }

  private static long sum(Connection c, String table) throws Exception {
    return Db.queryLong(c, "SELECT sum(total_births) FROM " + table);
  }

  static String[] concat(String[] a, String[] b) {
    String[] r = new String[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
