package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.isOneOf;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.warehouse.pipelines.promote.mariadb.MariaDbRows;
import org.warehouse.pipelines.promote.mariadb.MariaDbTestDatabase;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.testing.TestDatabase;

/**
 * promote from PostgreSQL to a real MariaDB (scripts/local-mariadb "test", or MARIADB_TEST_URL). The
 * oracle: every table's rows read back through JDBC from both servers and rendered by Java, sorted
 * ({@link MariaDbRows}), and information_schema for keys and indexes — never promote's checksum.
 */
public class PromoteToMariaDbTest {
  @Rule public final TestDatabase source = new TestDatabase();
  @Rule public final MariaDbTestDatabase target = new MariaDbTestDatabase();

  static final List<String> PROMOTED = List.of("dim_regions", "dim_states", "agg_monthly", "agg_big");

  @Before
  public void createSource() throws SQLException {
    try (Connection c = source.connect()) {
      Db.execute(c, "CREATE TABLE dim_regions (region_code int PRIMARY KEY, name text NOT NULL, "
          + "note text DEFAULT 'n/a', created date)");
      Db.execute(c, "COMMENT ON TABLE dim_regions IS 'IBGE regions'");
      Db.execute(c, "INSERT INTO dim_regions VALUES (1, 'Norte', NULL, '2020-01-02'), (2, 'Nordeste', 'São Luís', NULL), "
          + "(3, 'Sudeste', E'tab\\there', '2020-01-04'), (4, 'Sul', 'Florianópolis', '2020-01-05'), "
          + "(5, 'Centro-Oeste', 'Goiânia', '2020-01-06')");
      Db.execute(c, "CREATE TABLE dim_states (state_code smallint NOT NULL, region_code int NOT NULL, "
          + "uf char(2) NOT NULL, name varchar(40), CONSTRAINT dim_states_pk PRIMARY KEY (state_code), UNIQUE (uf))");
      Db.execute(c, "INSERT INTO dim_states SELECT g, 1 + g % 5, chr(65 + g / 26) || chr(65 + g % 26), "
          + "'Estado ' || g || ' – Piauí' FROM generate_series(1, 27) g");
      Db.execute(c, "CREATE TABLE agg_monthly (year int NOT NULL, month int NOT NULL, total_births bigint NOT NULL, "
          + "ratio double precision, amount numeric(12,3), at timestamptz, flag boolean, UNIQUE (year, month))");
      Db.execute(c, "CREATE INDEX agg_monthly_total_idx ON agg_monthly (total_births DESC)");
      Db.execute(c, "INSERT INTO agg_monthly SELECT 2000 + g / 12, g % 12 + 1, g * 7, g / 3.0, g * 1.001, "
          + "timestamptz '2020-01-01 00:00+00' + g * interval '1 hour', g % 2 = 0 FROM generate_series(0, 119) g");
      Db.execute(c, "CREATE TABLE agg_big (id bigserial PRIMARY KEY, code int NOT NULL, v double precision, label text)");
      Db.execute(c, "INSERT INTO agg_big (code, v, label) SELECT g % 97, sqrt(g), 'município ' || md5(g::text) "
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
        "--rowsPerRange=500", "--runner=DirectRunner"));
    args.addAll(List.of(extra));
    return PipelineOptionsFactory.fromArgs(args.toArray(new String[0])).withValidation().as(PromoteOptions.class);
  }

  @Test
  public void everyPromotedTableEqualsItsSourceWithKeysAndAccents() throws Exception {
    String out = PromotePipelineTest.captureStdout(() -> PromotePipeline.run(options()));
    assertThat(out, containsString("Fact tables (1, excluded): fact_births"));
    assertThat(out, containsString("[3/4] Promoting table: agg_big… 3,000 rows ✓ (created)"));
    assertThat(out, containsString("Total rows:        3,152"));
    try (Connection s = source.connect(); Connection t = target.connect()) {
      for (String table : PROMOTED) {
        MariaDbRows.assertSame(MariaDbRows.postgres(s, table), MariaDbRows.mariadb(target, table));
      }
      assertThat(Db.queryString(t, "SELECT note FROM dim_regions WHERE region_code = 2"), equalTo("São Luís"));
      assertThat(Db.queryString(t, "SELECT HEX(name) FROM dim_states WHERE state_code = 1"),
          equalTo(Db.queryString(s, "SELECT upper(encode(convert_to(name, 'UTF8'), 'hex')) FROM dim_states WHERE state_code = 1")));
      assertThat(tables(t), equalTo(List.of("agg_big", "agg_monthly", "dim_regions", "dim_states")));
      assertThat(keys(t), equalTo(List.of(
          "agg_big PRIMARY 0 id A", "agg_monthly agg_monthly_total_idx 1 total_births D",
          "agg_monthly agg_monthly_year_month_key 0 year A", "agg_monthly agg_monthly_year_month_key 0 month A",
          "dim_regions PRIMARY 0 region_code A", "dim_states PRIMARY 0 state_code A", "dim_states dim_states_uf_key 0 uf A")));
      // a NOT NULL and a default survive
      Db.execute(t, "INSERT INTO dim_regions (region_code, name) VALUES (99, 'x')");
      assertThat(Db.queryString(t, "SELECT note FROM dim_regions WHERE region_code = 99"), equalTo("n/a"));
      assertThrows(SQLException.class, () -> Db.execute(t, "INSERT INTO dim_regions (region_code) VALUES (100)"));
    }
  }

  @Test
  public void aSecondRunSaysUnchangedAndAChangedTableIsReplaced() throws Exception {
    PromotePipeline.run(options());
    String out = PromotePipelineTest.captureStdout(() -> PromotePipeline.run(options()));
    for (String table : PROMOTED) {
      assertThat(out, containsString("Promoting table: " + table + "… "));
    }
    assertThat(out, containsString("Dimension tables:  2 (2 unchanged, skipped)"));
    assertThat(out, containsString("Aggregate tables:  2 (2 unchanged, skipped)"));
    try (Connection s = source.connect()) {
      Db.execute(s, "UPDATE agg_monthly SET ratio = ratio + 1e-12 WHERE year = 2003 AND month = 4");
    }
    out = PromotePipelineTest.captureStdout(() -> PromotePipeline.run(options()));
    assertThat(out, containsString("agg_monthly… 120 rows ✓ (swapped (rename))"));
    assertThat(out, containsString("Dimension tables:  2 (2 unchanged, skipped)"));
    try (Connection s = source.connect()) {
      MariaDbRows.assertSame(MariaDbRows.postgres(s, "agg_monthly"), MariaDbRows.mariadb(target, "agg_monthly"));
    }
  }

  /**
   * The source changes in three tables, one of them with a key value longer than the target's key
   * column holds: the load of that table fails after the others were copied, before the rename.
   */
  @Test
  public void aFailureBeforeTheRenameLeavesEveryTargetTableAsItWas() throws Exception {
    PromotePipeline.run(options());
    Map<String, List<String>> before = snapshot();
    try (Connection s = source.connect()) {
      Db.execute(s, "INSERT INTO agg_big (code, v, label) SELECT 1, 1, 'x' FROM generate_series(1, 500)");
      Db.execute(s, "UPDATE dim_regions SET name = name || '!'");
      Db.execute(s, "CREATE UNIQUE INDEX dim_regions_note ON dim_regions (note)");
      Db.execute(s, "UPDATE dim_regions SET note = repeat('é', 300) WHERE region_code = 1");
    }
    Throwable e = assertThrows(Exception.class, () -> PromotePipeline.run(options())); // the runner wraps it
    while (!(e instanceof WarehouseException) && e.getCause() != null) {
      e = e.getCause();
    }
    assertThat(e.getMessage(), containsString("loading rows into dim_regions__staging_"));
    assertThat(e.getMessage(), containsString("Data truncated for column 'note'"));
    assertThat(e.getMessage(), containsString("production unchanged"));
    assertThat(snapshot(), equalTo(before));
  }

  @Test
  public void aReaderDuringTheRunSeesOnlyOldOrNewTotals() throws Exception {
    PromotePipeline.run(options());
    try (Connection s = source.connect()) {
      Db.execute(s, "INSERT INTO agg_big (code, v, label) SELECT g % 97, sqrt(g), md5(g::text) FROM generate_series(3001, 5000) g");
      Db.execute(s, "DELETE FROM agg_monthly WHERE year = 2009");
    }
    List<String> seen = Collections.synchronizedList(new ArrayList<>());
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> readerError = new AtomicReference<>();
    Thread reader = new Thread(() -> {
      try (Connection t = target.connect(); Statement st = t.createStatement()) {
        while (!stop.get()) {
          try (ResultSet rs = st.executeQuery("SELECT CONCAT((SELECT COUNT(*) FROM agg_big), '/', "
              + "(SELECT COUNT(*) FROM agg_monthly), '/', (SELECT SUM(total_births) FROM agg_monthly))")) {
            rs.next();
            seen.add(rs.getString(1));
          }
        }
      } catch (Throwable e) {
        readerError.set(e);
      }
    });
    reader.start();
    try {
      PromotePipeline.run(options());
    } finally {
      stop.set(true);
      reader.join(60_000);
    }
    if (readerError.get() != null) {
      throw new AssertionError("the reader failed during promotion", readerError.get());
    }
    String oldTotals = "3000/120/49980";
    String newTotals = "5000/108/" + (49980 - 7 * (108 + 109 + 110 + 111 + 112 + 113 + 114 + 115 + 116 + 117 + 118 + 119));
    assertThat(seen.size(), greaterThan(10));
    assertThat(seen, everyItem(isOneOf(oldTotals, newTotals)));
    assertThat(seen.get(0), equalTo(oldTotals));
    assertThat(seen.get(seen.size() - 1), equalTo(newTotals));
  }

  @Test
  public void badInputFailsWithOneLineAndChangesNothing() throws Exception {
    PromotePipeline.run(options("--include=dim_*"));
    Map<String, List<String>> before = snapshot();
    String password = Files.readString(Path.of(target.passwordFile())).strip();

    String err = main(1, "--targetUrl=jdbc:mariadb://127.0.0.1:1/nowhere");
    assertThat(err, containsString("target database unreachable"));

    Path wrong = Files.createTempFile("wh-wrong", ".txt");
    Files.writeString(wrong, "not-the-password");
    err = main(1, "--targetPasswordFile=" + wrong);
    assertThat(err, containsString("Access denied for user"));
    assertThat(err, not(containsString("not-the-password")));
    Files.delete(wrong);

    try (Connection t = target.connect()) {
      Db.execute(t, "CREATE TABLE agg_monthly (year INT NOT NULL, month INT NOT NULL, total_births INT NOT NULL, "
          + "PRIMARY KEY (year, month)) ENGINE=InnoDB");
      Db.execute(t, "CREATE TABLE agg_child (year INT, month INT, FOREIGN KEY fk_child_monthly (year, month) "
          + "REFERENCES agg_monthly (year, month)) ENGINE=InnoDB");
    }
    before = snapshot();
    err = main(1);
    assertThat(err, containsString("table agg_monthly on the target"));
    assertThat(err, containsString("column total_births: int not null on the target, bigint not null from the source"));
    assertThat(err, containsString("column ratio missing on the target"));
    assertThat(err, containsString("fk_child_monthly of table agg_child references it"));
    assertThat(snapshot(), equalTo(before));

    try (Connection s = source.connect()) {
      Db.execute(s, "CREATE TABLE agg_odd (id int, amount numeric)");
    }
    err = main(1, "--include=agg_odd");
    assertThat(err, containsString("table agg_odd, column amount: type numeric has no faithful MariaDB/MySQL type"));
    assertThat(snapshot(), equalTo(before));
    assertThat(err, not(containsString(password)));
  }

  @Test
  public void aDeadRunsStagingAndOldTablesAreNamedAndDropped() throws Exception {
    try (Connection t = target.connect()) {
      Db.execute(t, "CREATE TABLE agg_big__staging_dead01 (x INT)");
      Db.execute(t, "CREATE TABLE agg_big__old_dead02 (x INT)");
      Db.execute(t, "CREATE TABLE agg_big__staging_keep (x INT)"); // not a run id: not ours
    }
    String out = PromotePipelineTest.captureStdout(() -> PromotePipeline.run(options()));
    assertThat(out, containsString("promote: dropping agg_big__staging_dead01, left by a run that did not finish"));
    assertThat(out, containsString("promote: dropping agg_big__old_dead02, left by a run that did not finish"));
    try (Connection t = target.connect()) {
      assertThat(tables(t), equalTo(List.of("agg_big", "agg_big__staging_keep", "agg_monthly", "dim_regions", "dim_states")));
    }
  }

  @Test
  public void aDryRunPrintsTheMariaDbDefinitionsAndChangesNothing() throws Exception {
    String out = PromotePipelineTest.captureStdout(() -> PromotePipeline.run(options("--dryRun=true")));
    assertThat(out, containsString("agg_monthly: 120 rows on the source; would create the target table"));
    assertThat(out, containsString("`total_births` BIGINT NOT NULL"));
    assertThat(out, containsString(") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_nopad_bin"));
    assertThat(out, containsString("ADD UNIQUE KEY `agg_monthly_year_month_key` (`year`, `month`)"));
    try (Connection t = target.connect()) {
      assertThat(tables(t), empty());
    }
  }

  @Test
  public void aRunWhileAnotherHoldsTheLockExitsThree() throws Exception {
    try (Connection holder = target.connect()) {
      assertThat(Db.queryString(holder, "SELECT GET_LOCK('warehouse-pipelines:promote:" + target.databaseName() + "', 0)"),
          equalTo("1"));
      List<String> args = new ArrayList<>(List.of("promote", "--sourceUrl=" + source.url(),
          "--sourceUser=" + source.user(), "--sourcePasswordFile=" + source.passwordFile(), "--targetUrl=" + target.url(),
          "--targetUser=" + target.user(), "--targetPasswordFile=" + target.passwordFile(), "--runner=DirectRunner"));
      ByteArrayOutputStream err = new ByteArrayOutputStream();
      int code = Main.run(args.toArray(new String[0]), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
      assertThat(code, equalTo(Main.LOCKED));
      assertThat(err.toString(StandardCharsets.UTF_8), containsString("another 'promote' run holds the lock on "
          + target.databaseName() + " (connection "));
      assertThat(tables(holder), empty());
    }
  }

  // --- oracles and support -------------------------------------------------------------------

  /** Runs {@code scripts/run promote} in-process; asserts the exit code and one line on stderr; returns it. */
  private String main(int expectedCode, String... extra) {
    List<String> args = new ArrayList<>(List.of("promote",
        "--sourceUrl=" + source.url(), "--sourceUser=" + source.user(), "--sourcePasswordFile=" + source.passwordFile(),
        "--targetUrl=" + target.url(), "--targetUser=" + target.user(), "--targetPasswordFile=" + target.passwordFile(),
        "--runner=DirectRunner"));
    for (String e : extra) {
      args.removeIf(a -> a.startsWith(e.substring(0, e.indexOf('=') + 1)));
      args.add(e);
    }
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(args.toArray(new String[0]), new PrintStream(new ByteArrayOutputStream()), new PrintStream(err));
    String text = err.toString(StandardCharsets.UTF_8).strip();
    assertThat(text, code, equalTo(expectedCode));
    assertThat(text, text.lines().filter(l -> l.startsWith("promote failed")).count(), equalTo(1L));
    return text;
  }

  /** Every table of the target database with its rows (Java-rendered, sorted). */
  private Map<String, List<String>> snapshot() throws SQLException {
    Map<String, List<String>> out = new LinkedHashMap<>();
    try (Connection t = target.connect()) {
      for (String table : tables(t)) {
        out.put(table, MariaDbRows.mariadb(target, table));
      }
    }
    return out;
  }

  private static List<String> tables(Connection t) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement st = t.createStatement(); ResultSet rs = st.executeQuery("SELECT TABLE_NAME FROM "
        + "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }

  private static List<String> keys(Connection t) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Statement st = t.createStatement(); ResultSet rs = st.executeQuery("SELECT CONCAT_WS(' ', TABLE_NAME, "
        + "INDEX_NAME, NON_UNIQUE, COLUMN_NAME, COLLATION) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
        + "ORDER BY TABLE_NAME, INDEX_NAME <> 'PRIMARY', INDEX_NAME, SEQ_IN_INDEX")) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
