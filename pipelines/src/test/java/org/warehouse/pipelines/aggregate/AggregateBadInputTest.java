package org.warehouse.pipelines.aggregate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import org.warehouse.pipelines.Main;
import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/** Bad input gives a one-line cause and the exit code a scheduler understands. */
public class AggregateBadInputTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  @Before
  public void clean() throws Exception {
    try (Connection c = DB.connect()) {
      Db.execute(c, "DROP TABLE IF EXISTS fact_births, dim_ibge_id_regions, dim_ibge_id_states, "
          + "dim_ibge_id_municipalities CASCADE");
    }
  }

  private int run(String... args) {
    return Main.run(args, System.out, new PrintStream(err, true, StandardCharsets.UTF_8));
  }

  private String[] aggregate(String... more) {
    return AggregatePipelineTest.concat(new String[] {"aggregate"}, AggregateTestData.args(DB, "direct", more));
  }

  @Test
  public void missingFactTableNamesItAndWhatToDo() {
    assertEquals(1, run(aggregate()));
    assertThat(err.toString(StandardCharsets.UTF_8),
        containsString("table fact_births does not exist in database " + DB.databaseName()));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("scripts/run generate"));
  }

  @Test
  public void missingColumnIsNamed() throws Exception {
    try (Connection c = DB.connect()) {
      Db.execute(c, "CREATE TABLE fact_births (birth_id bigint, birth_date date)");
    }
    assertEquals(1, run(aggregate()));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("lacks column(s) residence_municipality_code"));
  }

  @Test
  public void missingDimensionsSayLoadReference() throws Exception {
    try (Connection c = DB.connect()) {
      Db.execute(c, org.warehouse.transforms.births.FactBirths.createTableSql(
          org.warehouse.transforms.jdbc.TableRef.of("public", "fact_births")));
    }
    assertEquals(1, run(aggregate()));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("scripts/run load-reference"));
  }

  @Test
  public void emptyFactTableIsRefusedUnlessAllowed() throws Exception {
    AggregateTestData.loadReference(DB);
    try (Connection c = DB.connect()) {
      Db.execute(c, org.warehouse.transforms.births.FactBirths.createTableSql(
          org.warehouse.transforms.jdbc.TableRef.of("public", "fact_births")));
    }
    assertEquals(1, run(aggregate()));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("is empty: refusing to replace"));
    assertEquals(0, run(aggregate("--allowEmpty=true")));
    try (Connection c = DB.connect()) {
      assertEquals(0, Db.queryLong(c, "SELECT count(*) FROM agg_yearly"));
    }
  }

  @Test
  public void unreachableDatabaseExitsOneWithConnectionHint() {
    assertEquals(1, run("aggregate", "--runner=DirectRunner", "--jdbcUrl=jdbc:postgresql://127.0.0.1:1/nowhere"));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("cannot connect to jdbc:postgresql://127.0.0.1:1/nowhere"));
  }

  @Test
  public void badUsageExitsTwo() {
    assertEquals(2, run("aggregate", "--runner=DirectRunner", "--noSuchOption=1", "--jdbcUrl=jdbc:postgresql://x/y"));
    assertEquals(2, run("aggregate", "--runner=DirectRunner"));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("jdbcUrl"));
    assertEquals(2, run("no-such-pipeline"));
    assertEquals(2, run("aggregate", "--runner=DirectRunner", "--jdbcUrl=jdbc:postgresql://h/db?password=secret"));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("must not contain a password"));
  }

  @Test
  public void badCountsExitTwoBeforeConnecting() {
    String nowhere = "--jdbcUrl=jdbc:postgresql://127.0.0.1:1/nowhere";
    assertEquals(2, run("aggregate", "--runner=DirectRunner", nowhere, "--partitions=-1"));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("--partitions must be at least 0 (got -1)"));
    assertEquals(2, run("aggregate", "--runner=DirectRunner", nowhere, "--lockTimeoutSeconds=0"));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("--lockTimeoutSeconds must be at least 1 (got 0)"));
    assertEquals(2, run("generate", "--runner=DirectRunner", nowhere, "--births=-1"));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("--births must be at least 0 (got -1)"));
  }

  @Test
  public void secondRunWhileTheFirstHoldsTheLockExitsThree() throws Exception {
    try (Connection holder = DB.connect()) {
      Db.queryLong(holder, "SELECT count(*) FROM (SELECT pg_advisory_lock(hashtext('warehouse-pipelines:aggregate'))) x");
      int code = run(aggregate());
      assertEquals(err.toString(StandardCharsets.UTF_8), 3, code);
      assertThat(err.toString(StandardCharsets.UTF_8), containsString("another 'aggregate' run holds the lock"));
    }
  }
}
