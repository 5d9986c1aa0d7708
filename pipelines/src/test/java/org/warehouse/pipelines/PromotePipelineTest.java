package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.isOneOf;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.warehouse.pipelines.promote.PromotePipeline;
import org.warehouse.pipelines.promote.PromotePipeline.PromoteOptions;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.testing.TestDatabase;

/**
 * promote between two independent PostgreSQL servers (private clusters "test" and "test2"). The
 * oracle is PostgreSQL itself: every row's text form, fetched sorted from both servers, and the
 * catalog (pg_get_indexdef, comments) — never the pipeline's own checksum.
 */
public class PromotePipelineTest {
  @Rule public final TestDatabase source = new TestDatabase();
  @Rule public final TestDatabase target = new TestDatabase("test2");

  static final List<String> PROMOTED = List.of("dim_regions", "dim_states", "agg_monthly", "agg_big");
  static final String SETTINGS = "SET DateStyle = 'ISO, MDY'; SET TimeZone = 'UTC'; SET extra_float_digits = 1";

  @Before
  public void createSource() throws SQLException {
    try (Connection c = source.connect()) {
      Db.execute(c, "CREATE TABLE dim_regions (region_code int PRIMARY KEY, name text NOT NULL, "
          + "note text DEFAULT 'n/a', created date, flags bool[], payload jsonb, raw bytea)");
      Db.execute(c, "COMMENT ON TABLE dim_regions IS 'IBGE regions'");
      Db.execute(c, "COMMENT ON COLUMN dim_regions.name IS 'official name'");
      Db.execute(c, "INSERT INTO dim_regions SELECT g, 'Região ' || g || E'\\t tab', "
          + "CASE WHEN g % 2 = 0 THEN NULL ELSE E'back\\\\slash\\nnew line' END, date '2020-01-01' + g, "
          + "ARRAY[g % 2 = 0, NULL], jsonb_build_object('g', g), decode('00ff' || lpad(to_hex(g), 2, '0'), 'hex') "
          + "FROM generate_series(1, 5) g");
      Db.execute(c, "CREATE TABLE dim_states (state_code smallint NOT NULL, region_code int NOT NULL, "
          + "uf char(2) NOT NULL, name varchar(40), CONSTRAINT dim_states_pk PRIMARY KEY (state_code), UNIQUE (uf))");
      Db.execute(c, "INSERT INTO dim_states SELECT g, 1 + g % 5, chr(65 + g / 26) || chr(65 + g % 26), "
          + "'State ' || g FROM generate_series(1, 27) g");
      Db.execute(c, "CREATE TABLE agg_monthly (year int NOT NULL, month int NOT NULL, total_births bigint NOT NULL, "
          + "ratio double precision, amount numeric(12,3), at timestamptz, span interval, "
          + "UNIQUE (year, month), CHECK (month BETWEEN 1 AND 12))");
      Db.execute(c, "CREATE INDEX agg_monthly_total_idx ON agg_monthly (total_births DESC) WHERE total_births > 0");
      Db.execute(c, "INSERT INTO agg_monthly SELECT 2000 + g / 12, g % 12 + 1, g * 7, g / 3.0, g * 1.001, "
          + "timestamptz '2020-01-01 00:00+00' + g * interval '1 hour', g * interval '90 minutes' "
          + "FROM generate_series(0, 119) g");
      Db.execute(c, "CREATE TABLE agg_big (id bigserial PRIMARY KEY, code int NOT NULL, v double precision, "
          + "label text)");
      Db.execute(c, "INSERT INTO agg_big (code, v, label) SELECT g % 97, sqrt(g), md5(g::text) "
          + "FROM generate_series(1, 3000) g");
      Db.execute(c, "CREATE TABLE fact_births (birth_id bigint PRIMARY KEY, code int)");
      Db.execute(c, "INSERT INTO fact_births SELECT g, g FROM generate_series(1, 100) g");
      Db.execute(c, "CREATE TABLE agg_monthly_backup AS SELECT * FROM agg_monthly");
      Db.execute(c, "CREATE TABLE scratch (x int)");
    }
  }

  PromoteOptions options(String... extra) {
    List<String> args = new ArrayList<>(List.of(
        "--sourceUrl=" + source.url(), "--sourceUser=" + source.user(), "--sourcePasswordFile=" + source.passwordFile(),
        "--targetUrl=" + target.url(), "--targetUser=" + target.user(), "--targetPasswordFile=" + target.passwordFile(),
        "--rowsPerRange=500"));
    args.addAll(List.of(extra));
    if (args.stream().noneMatch(a -> a.startsWith("--runner="))) {
      args.add("--runner=DirectRunner");
    }
    return PipelineOptionsFactory.fromArgs(args.toArray(new String[0])).withValidation().as(PromoteOptions.class);
  }

  @Test
  public void fullPromotionCopiesSelectedTablesRowByRowWithTheirDefinitions() throws Exception {
    String out = captureStdout(() -> PromotePipeline.run(options()));

    assertThat(out, containsString("Found 4 tables to promote:"));
    assertThat(out, containsString("Fact tables (1, excluded): fact_births"));
    assertThat(out, containsString("Dimension tables (2): dim_regions, dim_states"));
    assertThat(out, containsString("Aggregate tables (2): agg_big, agg_monthly"));
    assertThat(out, containsString("Aggregate tables (1, excluded): agg_monthly_backup"));
    assertThat(out, containsString("[3/4] Promoting table: agg_big… 3,000 rows ✓"));
    assertThat(out, containsString("Total rows:        3,152"));
    try (Connection s = source.connect();
        Connection t = target.connect()) {
      for (String table : PROMOTED) {
        assertThat(table, rows(t, table), equalTo(rows(s, table)));
        assertThat(table, Db.columns(t, TableRef.of("public", table)), equalTo(Db.columns(s, TableRef.of("public", table))));
        assertThat(table, catalog(t, table), equalTo(catalog(s, table)));
      }
      for (String absent : List.of("fact_births", "agg_monthly_backup", "scratch")) {
        assertThat(absent, Db.tableExists(t, TableRef.of("public", absent)), is(false));
      }
      assertThat(stagingTables(t), empty());
      // a NOT NULL and a default survive: inserting without the column uses the source's default
      Db.execute(t, "INSERT INTO dim_regions (region_code, name) VALUES (99, 'x')");
      assertThat(Db.queryString(t, "SELECT note FROM dim_regions WHERE region_code = 99"), equalTo("n/a"));
      assertThrows(SQLException.class, () -> Db.execute(t, "INSERT INTO dim_regions (region_code) VALUES (100)"));
    }
  }

  @Test
  public void jdbcReadModeGivesTheSameRows() throws Exception {
    PromotePipeline.run(options("--readMode=JDBC"));
    try (Connection s = source.connect();
        Connection t = target.connect()) {
      for (String table : PROMOTED) {
        assertThat(table, rows(t, table), equalTo(rows(s, table)));
      }
    }
  }

  @Test
  public void reRunSkipsUnchangedTablesAndReplacesChangedOnes() throws Exception {
    PromotePipeline.run(options());
    Map<String, Long> oids = oids();
    try (Connection s = source.connect()) {
      Db.execute(s, "UPDATE agg_monthly SET total_births = total_births + 1 WHERE month = 3");
    }
    RunReport report = new RunReport("promote");
    String out = captureStdout(() -> PromotePipeline.run(options(), report));

    assertThat(out, containsString("dim_regions… 5 rows, unchanged (skipped) ✓"));
    Map<String, String> actions = new LinkedHashMap<>();
    for (Map<String, Object> t : report.tables()) {
      actions.put((String) t.get("name"), (String) t.get("action"));
    }
    assertThat(actions.get("dim_regions"), equalTo("unchanged, skipped"));
    assertThat(actions.get("dim_states"), equalTo("unchanged, skipped"));
    assertThat(actions.get("agg_big"), equalTo("unchanged, skipped"));
    assertThat(actions.get("agg_monthly"), equalTo("swapped (rename)"));
    Map<String, Long> after = oids();
    assertThat(after.get("dim_regions"), equalTo(oids.get("dim_regions")));
    assertThat(after.get("agg_big"), equalTo(oids.get("agg_big")));
    assertThat(after.get("agg_monthly"), not(equalTo(oids.get("agg_monthly"))));
    try (Connection s = source.connect();
        Connection t = target.connect()) {
      assertThat(rows(t, "agg_monthly"), equalTo(rows(s, "agg_monthly")));
      assertThat(catalog(t, "agg_monthly"), equalTo(catalog(s, "agg_monthly")));
    }
  }

  /**
   * A job moves amounts between two source tables in one transaction each (their sum stays 400,000)
   * while promote runs: every table is read, and checksummed, in one snapshot of the source, so the
   * run succeeds and the target holds the two tables of one moment (the sum holds there too).
   */
  @Test
  public void aSourceChangingDuringTheRunIsCopiedAsOneSnapshot() throws Exception {
    try (Connection c = source.connect()) {
      for (String t : List.of("agg_acct_a", "agg_acct_b")) {
        Db.execute(c, "CREATE TABLE " + t + " (k int PRIMARY KEY, v bigint NOT NULL)");
        Db.execute(c, "INSERT INTO " + t + " SELECT g, 1000 FROM generate_series(1, 200) g");
      }
    }
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> writerError = new AtomicReference<>();
    long[] moves = new long[1];
    Thread writer = new Thread(() -> {
      try (Connection w = source.connect()) {
        w.setAutoCommit(false);
        for (int i = 0; !stop.get(); i++) {
          Db.execute(w, "UPDATE agg_acct_a SET v = v - 1 WHERE k = " + (1 + i % 200));
          Db.execute(w, "UPDATE agg_acct_b SET v = v + 1 WHERE k = " + (1 + (i * 7) % 200));
          w.commit();
          moves[0]++;
        }
      } catch (Throwable e) {
        writerError.set(e);
      }
    });
    writer.start();
    while (moves[0] < 50) {
      Thread.sleep(5);
    }
    long before = moves[0];
    try {
      PromotePipeline.run(options());
    } finally {
      stop.set(true);
      writer.join();
    }
    assertThat("writer", writerError.get() == null ? "" : writerError.get().toString(), equalTo(""));
    assertThat("moves during the run", moves[0], greaterThan(before + 50));
    try (Connection t = target.connect()) {
      assertThat("the two tables of one moment", Db.queryLong(t,
          "SELECT (SELECT sum(v) FROM agg_acct_a) + (SELECT sum(v) FROM agg_acct_b)"), equalTo(400000L));
      assertThat("not the starting state", Db.queryLong(t, "SELECT count(*) FROM agg_acct_a WHERE v <> 1000"),
          greaterThan(0L));
    }
  }

  @Test
  public void aSourceTableHeldExclusivelyFailsWithOneLineAfterTheLockTimeout() throws Exception {
    try (Connection holder = source.connect()) {
      holder.setAutoCommit(false);
      Db.execute(holder, "LOCK TABLE agg_monthly IN ACCESS EXCLUSIVE MODE");
      WarehouseException e = assertThrows(WarehouseException.class,
          () -> PromotePipeline.run(options("--lockTimeoutSeconds=1")));
      assertThat(e.getMessage(), containsString("could not lock the source tables within 1 s"));
      assertThat(e.getMessage(), containsString("nothing changed"));
      holder.rollback();
    }
    try (Connection t = target.connect()) {
      for (String table : PROMOTED) {
        assertThat(table, Db.tableExists(t, TableRef.of("public", table)), is(false));
      }
    }
  }

  @Test
  public void failureMidRunLeavesEveryProductionTableAsItWas() throws Exception {
    PromotePipeline.run(options());
    try (Connection s = source.connect()) {
      Db.execute(s, "UPDATE dim_states SET name = name || ' (new)'");
      Db.execute(s, "UPDATE agg_monthly SET total_births = total_births * 2");
    }
    Map<String, List<String>> before = snapshot();
    // Injected fault on the target: every staging copy of agg_monthly silently loses its first month
    // (a trigger that an event trigger attaches as soon as the pipeline creates the staging table).
    try (Connection t = target.connect()) {
      Db.execute(t, "CREATE FUNCTION drop_first_month() RETURNS trigger LANGUAGE plpgsql AS "
          + "$$ BEGIN IF NEW.month = 1 THEN RETURN NULL; END IF; RETURN NEW; END $$");
      Db.execute(t, "CREATE FUNCTION sabotage() RETURNS event_trigger LANGUAGE plpgsql AS $$ "
          + "BEGIN IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' "
          + "AND object_identity LIKE 'public.agg\\_monthly\\_\\_staging\\_%') THEN "
          + "EXECUTE format('CREATE TRIGGER lose BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION drop_first_month()', "
          + "(SELECT object_identity FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE TABLE' LIMIT 1)); "
          + "END IF; END $$");
      Db.execute(t, "CREATE EVENT TRIGGER sabotage ON ddl_command_end EXECUTE FUNCTION sabotage()");
    }

    WarehouseException e = assertThrows(WarehouseException.class, () -> PromotePipeline.run(options()));

    assertThat(e.getMessage(), containsString("verification failed for table agg_monthly"));
    assertThat(snapshot(), equalTo(before));
    try (Connection t = target.connect()) {
      assertThat(stagingTables(t), empty());
    }
  }

  @Test
  public void viewOnChangedTableBlocksBeforeAnythingIsCopied() throws Exception {
    PromotePipeline.run(options());
    try (Connection t = target.connect();
        Connection s = source.connect()) {
      Db.execute(t, "CREATE VIEW monthly_report AS SELECT year, sum(total_births) AS births FROM agg_monthly GROUP BY year");
      Db.execute(s, "ALTER TABLE agg_monthly ADD COLUMN source_note text DEFAULT 'v2'");
      Db.execute(s, "UPDATE dim_regions SET name = upper(name)");
    }
    Map<String, List<String>> before = snapshot();

    WarehouseException e = assertThrows(WarehouseException.class, () -> PromotePipeline.run(options()));

    assertThat(e.getMessage(), containsString("table agg_monthly on the target has dependent views"));
    assertThat(snapshot(), equalTo(before));
    try (Connection t = target.connect()) {
      assertThat(stagingTables(t), empty());
      assertThat(Db.queryString(t, "SELECT count(*) FROM monthly_report"), equalTo("10"));
    }
  }

  @Test
  public void viewAndGrantOnUnchangedColumnsKeepWorkingAfterInPlaceReplace() throws Exception {
    PromotePipeline.run(options());
    try (Connection t = target.connect();
        Connection s = source.connect()) {
      Db.execute(t, "CREATE VIEW region_names AS SELECT region_code, name FROM dim_regions");
      Db.execute(t, "GRANT SELECT ON dim_regions TO PUBLIC");
      Db.execute(s, "UPDATE dim_regions SET name = upper(name)");
    }
    RunReport report = new RunReport("promote");
    PromotePipeline.run(options(), report);

    assertThat(report.tables().get(0).get("action"), equalTo("replaced in place (dependent objects kept)"));
    try (Connection t = target.connect();
        Connection s = source.connect()) {
      assertThat(rows(t, "dim_regions"), equalTo(rows(s, "dim_regions")));
      assertThat(Db.queryString(t, "SELECT name FROM region_names WHERE region_code = 1"),
          equalTo(Db.queryString(s, "SELECT name FROM dim_regions WHERE region_code = 1")));
      assertThat(Db.queryString(t, "SELECT name FROM region_names WHERE region_code = 1"), containsString("TAB"));
      assertThat(Db.queryString(t, "SELECT has_table_privilege('public', 'dim_regions', 'SELECT')"), equalTo("t"));
    }
  }

  @Test
  public void dryRunPrintsThePlanAndChangesNothing() throws Exception {
    PromotePipeline.run(options());
    try (Connection s = source.connect()) {
      Db.execute(s, "DELETE FROM agg_big WHERE id > 2000");
    }
    Map<String, List<String>> before = snapshot();
    Map<String, Long> oids = oids();

    String out = captureStdout(() -> PromotePipeline.run(options("--dryRun=true")));

    assertThat(out, containsString("agg_big: 2,000 rows on the source; would replace the target table"));
    assertThat(out, containsString("dim_regions: 5 rows on the source; unchanged, would be skipped"));
    assertThat(out, containsString("CREATE TABLE \"public\".\"agg_big__staging_"));
    assertThat(out, containsString("Dry run: nothing was changed"));
    assertThat(snapshot(), equalTo(before));
    assertThat(oids(), equalTo(oids));
    try (Connection t = target.connect()) {
      assertThat(stagingTables(t), empty());
    }
  }

  @Test
  public void badInputFailsWithOneLineAndExitCodes() throws Exception {
    String[] common = {"--sourceUser=" + source.user(), "--sourcePasswordFile=" + source.passwordFile(),
        "--targetUser=" + target.user(), "--targetPasswordFile=" + target.passwordFile(), "--runner=DirectRunner"};
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(concat(new String[] {"promote", "--sourceUrl=jdbc:postgresql://127.0.0.1:1/nowhere",
        "--targetUrl=" + target.url()}, common), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
    assertThat(code, equalTo(Main.FAILED));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("promote failed: source database unreachable"));

    err.reset();
    code = Main.run(concat(new String[] {"promote", "--sourceUrl=" + source.url(), "--targetUrl=" + target.url(),
        "--include=nothing_*"}, common), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
    assertThat(code, equalTo(Main.FAILED));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("no table in schema public"));

    err.reset();
    code = Main.run(concat(new String[] {"promote", "--sourceUrl=" + source.url(),
        "--targetUrl=jdbc:postgresql://127.0.0.1:1/nowhere"}, common), new PrintStream(new ByteArrayOutputStream()),
        new PrintStream(err));
    assertThat(code, equalTo(Main.FAILED));
    assertThat(err.toString(StandardCharsets.UTF_8), containsString("target database unreachable"));
    assertThat(err.toString(StandardCharsets.UTF_8), not(containsString(
        new String(java.nio.file.Files.readAllBytes(java.nio.file.Path.of(target.passwordFile()))).strip())));
    try (Connection t = target.connect()) {
      assertThat(Db.queryString(t, "SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace"), equalTo("0"));
    }
  }

  /** On Flink [local] (parallelism 2): a reader polling during the run sees old or new tables, never a mix. */
  @Test
  public void concurrentReaderSeesOldOrNewCompleteTablesOnFlink() throws Exception {
    PromotePipeline.run(options());
    try (Connection s = source.connect()) {
      Db.execute(s, "INSERT INTO agg_big (code, v, label) SELECT g % 97, sqrt(g), md5(g::text) FROM generate_series(3001, 5000) g");
      Db.execute(s, "DELETE FROM agg_monthly WHERE year = 2009");
    }
    String oldPair = "3000/120";
    String newPair = "5000/108";
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> readerError = new AtomicReference<>();
    Thread reader = new Thread(() -> {
      try (Connection t = target.connect();
          Statement st = t.createStatement()) {
        while (!stop.get()) {
          try (ResultSet rs = st.executeQuery(
              "SELECT (SELECT count(*) FROM agg_big) || '/' || (SELECT count(*) FROM agg_monthly)")) {
            rs.next();
            seen.add(rs.getString(1));
          }
          Thread.sleep(5);
        }
      } catch (Throwable e) {
        readerError.set(e);
      }
    });
    reader.start();
    try {
      PromotePipeline.run(options("--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2"));
      Thread.sleep(200);
    } finally {
      stop.set(true);
      reader.join();
    }
    if (readerError.get() != null) {
      throw new AssertionError("the reader failed during promotion", readerError.get());
    }
    assertThat(seen.size(), greaterThan(10));
    assertThat(seen, everyItem(isOneOf(oldPair, newPair)));
    assertThat(seen.get(0), equalTo(oldPair));
    assertThat(seen.get(seen.size() - 1), equalTo(newPair));
    try (Connection s = source.connect();
        Connection t = target.connect()) {
      assertThat(rows(t, "agg_big"), equalTo(rows(s, "agg_big")));
      assertThat(rows(t, "agg_monthly"), equalTo(rows(s, "agg_monthly")));
    }
  }

  // --- oracles and helpers ------------------------------------------------------------------

  /** Every row's text form, sorted (fetched from the server: the oracle). */
  static List<String> rows(Connection c, String table) throws SQLException {
    Db.execute(c, SETTINGS);
    List<String> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT t::text FROM " + TableRef.of("public", table).quoted() + " t ORDER BY 1")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** Index definitions (with names), constraints and comments of a table, as the catalog prints them. */
  static List<String> catalog(Connection c, String table) throws SQLException {
    List<String> out = new ArrayList<>();
    String oid = "'public." + table + "'::regclass";
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(
            "SELECT 'index ' || pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = " + oid
                + " UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint "
                + "WHERE conrelid = " + oid
                + " UNION ALL SELECT 'comment ' || coalesce(obj_description(" + oid + ", 'pg_class'), '-')"
                + " UNION ALL SELECT 'column ' || attname || ' ' || attnotnull || ' ' || coalesce(col_description(attrelid, attnum), '-')"
                + " FROM pg_attribute WHERE attrelid = " + oid + " AND attnum > 0 ORDER BY 1")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  /** Every table on the target with its rows: what a dashboard would see. */
  Map<String, List<String>> snapshot() throws SQLException {
    Map<String, List<String>> m = new LinkedHashMap<>();
    try (Connection t = target.connect()) {
      for (String table : PROMOTED) {
        m.put(table, rows(t, table));
        m.put(table + " catalog", catalog(t, table));
      }
    }
    return m;
  }

  Map<String, Long> oids() throws SQLException {
    Map<String, Long> m = new LinkedHashMap<>();
    try (Connection t = target.connect()) {
      for (String table : PROMOTED) {
        m.put(table, Db.queryLong(t, "SELECT 'public." + table + "'::regclass::oid::bigint"));
      }
    }
    return m;
  }

  static List<String> stagingTables(Connection c) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT relname FROM pg_class WHERE relname LIKE '%\\_\\_staging%'")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  static String[] concat(String[] a, String[] b) {
    String[] r = new String[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  @FunctionalInterface
  interface Body {
    void run() throws Exception;
  }

  /** Runs the body with System.out captured (and still echoed); returns what it printed. */
  static String captureStdout(Body body) throws Exception {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      body.run();
    } finally {
      System.setOut(old);
    }
    String s = buf.toString(StandardCharsets.UTF_8);
    old.print(s);
    return s;
  }
}
