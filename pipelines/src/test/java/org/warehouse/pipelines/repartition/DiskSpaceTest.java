package org.warehouse.pipelines.repartition;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThanOrEqualTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertThrows;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Assume;
import org.junit.Before;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.pipelines.Main;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.repartition.RepartitionPipeline.RepartitionOptions;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * The free-space check against the real test PostgreSQL. The oracles: the file system read by the test
 * itself ({@code Files.getFileStore(data_directory)}: the test cluster is local), PostgreSQL's own
 * {@code pg_total_relation_size}, and the table's OID and checksum taken before and after.
 */
public class DiskSpaceTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  private static final TableRef TABLE = TableRef.of("ds", "t");

  /** ds.t: rows over 3 months, a primary key, an index, and values long enough to go to TOAST. */
  private static final List<String> TABLE_SQL = List.of("DROP SCHEMA IF EXISTS ds CASCADE", "CREATE SCHEMA ds",
      "CREATE TABLE ds.t (id bigint PRIMARY KEY, day date NOT NULL, body text)",
      "ALTER TABLE ds.t ALTER COLUMN body SET STORAGE EXTERNAL",
      "INSERT INTO ds.t SELECT g, date '2024-01-01' + g % 90, repeat(md5(g::text), 1 + g % 200) "
          + "FROM generate_series(1, 3000) g",
      "CREATE INDEX t_day_idx ON ds.t (day)", "ANALYZE ds.t");

  @Before
  public void freshTable() throws SQLException {
    try (Connection c = DB.connect()) {
      for (String sql : TABLE_SQL) {
        Db.execute(c, sql);
      }
    }
  }

  @Test
  public void theFreeSpaceReadThroughTheServerIsWhatTheFileSystemSaysAndTheNeedCoversTheTable() throws Exception {
    try (Connection c = DB.connect()) {
      String dataDir = Db.queryString(c, "SELECT current_setting('data_directory')");
      Assume.assumeTrue("the server's data directory is on this machine", Files.isDirectory(Path.of(dataDir)));
      TableShape shape = CatalogReader.read(c, TABLE, "day");
      FreeSpace free = DiskSpace.measure(c, shape);
      long oracle = Files.getFileStore(Path.of(dataDir)).getUsableSpace();

      assertThat(free.notChecked(), free.checked(), equalTo(true));
      assertThat(free.tablespace(), equalTo("pg_default"));
      assertThat("df through the server within 2% of the file system's usable space",
          (double) Math.abs(free.bytes() - oracle), lessThanOrEqualTo(oracle * 0.02));
      long total = Db.queryLong(c, "SELECT pg_total_relation_size('ds.t')");
      assertThat("the table has TOAST and indexes", total, greaterThanOrEqualTo(Db.queryLong(c,
          "SELECT pg_relation_size('ds.t') + pg_indexes_size('ds.t') + pg_relation_size(reltoastrelid) "
              + "FROM pg_class WHERE oid = 'ds.t'::regclass")));
      assertThat(RepartitionPlan.neededBytes(shape), greaterThanOrEqualTo(total + total / 10));
      assertThat("no temp table left", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname = 'repartition_df'"),
          equalTo(0L));
    }
  }

  /** A dead run's work tables (the partitioned one with its partitions, the ledger) count as free: the run drops them. */
  @Test
  public void aDeadRunsWorkTablesCountAsFreeSpace() throws Exception {
    try (Connection c = DB.connect()) {
      String run = Staging.runId();
      TableRef parent = Staging.name(TABLE, "repartition", run);
      TableRef ledger = Staging.name(TABLE, "repartition_ranges", run);
      Db.execute(c, "CREATE TABLE " + parent.quoted() + " (LIKE ds.t) PARTITION BY RANGE (day)");
      Db.execute(c, "CREATE TABLE ds.t_p2024_01 PARTITION OF " + parent.quoted() + " FOR VALUES FROM ('2024-01-01') "
          + "TO ('2024-02-01')");
      Db.execute(c, "CREATE TABLE ds.t_pdefault PARTITION OF " + parent.quoted() + " DEFAULT");
      Db.execute(c, "INSERT INTO " + parent.quoted() + " SELECT * FROM ds.t");
      Db.execute(c, "CREATE TABLE " + ledger.quoted() + " AS SELECT g FROM generate_series(1, 1000) g");
      long left = Db.queryLong(c, "SELECT pg_total_relation_size('ds.t_p2024_01') + pg_total_relation_size("
          + "'ds.t_pdefault') + pg_total_relation_size(" + Sql.literal(ledger.quoted()) + ")");
      FreeSpace free = DiskSpace.measure(c, CatalogReader.read(c, TABLE, "day"));
      assertThat(free.notChecked(), free.reclaimable(), equalTo(left));
      assertThat(free.available(), equalTo(free.bytes() + left));
    }
  }

  /**
   * A table in its own tablespace: the free space is measured in that tablespace's directory, and the
   * partitioned table and its partitions are created there. Needs a directory the local server may own.
   */
  @Test
  public void aTableInItsOwnTablespaceIsMeasuredThereAndItsCopyGoesThere() throws Exception {
    Path dir = Files.createTempDirectory("wh-tablespace");
    String tablespace = "ds " + dir.getFileName();
    try (Connection c = DB.connect()) {
      Path dataDir = Path.of(Db.queryString(c, "SELECT current_setting('data_directory')"));
      Assume.assumeTrue("a local server", Files.isDirectory(dataDir));
      try {
        Files.setOwner(dir, Files.getOwner(dataDir)); // the server's OS user
      } catch (IOException e) {
        Assume.assumeNoException("the server's OS user cannot be given a directory here", e);
      }
      Db.execute(c, "CREATE TABLESPACE " + Sql.quoteIdent(tablespace) + " LOCATION " + Sql.literal(dir.toString()));
      try {
        Db.execute(c, "ALTER TABLE ds.t SET TABLESPACE " + Sql.quoteIdent(tablespace));
        FreeSpace free = DiskSpace.measure(c, CatalogReader.read(c, TABLE, "day"));
        long oracle = Files.getFileStore(dir).getUsableSpace();
        assertThat(free.notChecked(), free.tablespace(), equalTo(tablespace));
        assertThat(free.directory(), equalTo(dir.toString()));
        assertThat((double) Math.abs(free.bytes() - oracle), lessThanOrEqualTo(oracle * 0.02));

        RepartitionPipeline.run(options(), new RunReport("repartition"), DiskSpace::measure);
        assertThat("the partitioned table and its partitions are in the table's tablespace", Db.queryString(c,
            "SELECT string_agg(DISTINCT coalesce(s.spcname, '(default)'), ', ') FROM pg_partition_tree('ds.t') p "
                + "JOIN pg_class k ON k.oid = p.relid LEFT JOIN pg_tablespace s ON s.oid = k.reltablespace"),
            equalTo(tablespace));
      } finally {
        Db.execute(c, "DROP SCHEMA ds CASCADE");
        Db.execute(c, "DROP TABLESPACE " + Sql.quoteIdent(tablespace));
      }
    } finally {
      Files.deleteIfExists(dir);
    }
  }

  /** A role that may not run server programs gets "not checked"; granted pg_execute_server_program, a figure. */
  @Test
  public void aRoleThatMayNotRunServerProgramsIsNotCheckedAndOneGrantedItIs() throws Exception {
    String role = "ds_" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    try (Connection admin = DB.connect()) {
      Db.execute(admin, "CREATE ROLE " + role + " LOGIN PASSWORD 'pw-" + role + "'");
      try {
        TableShape shape = CatalogReader.read(admin, TABLE, "day");
        JdbcConfig asRole = JdbcConfig.of(DB.url(), role, "pw-" + role);
        try (Connection c = asRole.connect("warehouse-tests")) {
          FreeSpace free = DiskSpace.measure(c, shape);
          assertThat(free.checked(), equalTo(false));
          assertThat(free.describe(), equalTo("free disk space not checked (the role may not run server programs)"));
        }
        Db.execute(admin, "GRANT pg_execute_server_program TO " + role);
        try (Connection c = asRole.connect("warehouse-tests")) {
          FreeSpace free = DiskSpace.measure(c, shape);
          assertThat(free.notChecked(), free.checked(), equalTo(true));
          assertThat("without pg_read_all_settings: relative to the server's working directory", free.directory(),
              equalTo("base"));
          String dataDir = Db.queryString(admin, "SELECT current_setting('data_directory')");
          Assume.assumeTrue(Files.isDirectory(Path.of(dataDir)));
          long oracle = Files.getFileStore(Path.of(dataDir)).getUsableSpace();
          assertThat((double) Math.abs(free.bytes() - oracle), lessThanOrEqualTo(oracle * 0.02));
        }
      } finally {
        Db.execute(admin, "DROP ROLE " + role);
      }
    }
  }

  @Test
  public void tooLittleRoomIsRefusedUpFrontAndNothingChanges() throws Exception {
    long oid;
    String before;
    try (Connection c = DB.connect()) {
      oid = Db.queryLong(c, "SELECT 'ds.t'::regclass::oid::bigint");
      before = checksum(c);
    }
    DiskSpace.Meter small = (c, shape) -> new FreeSpace("pg_default", "/small", 1024, 0, null);
    WarehouseException e = assertThrows(WarehouseException.class,
        () -> RepartitionPipeline.run(options(), new RunReport("repartition"), small));
    assertThat(e.getMessage(), startsWith("table ds.t needs about "));
    assertThat(e.getMessage(), containsString(" for its partitioned copy; tablespace pg_default (/small) has 1.0 kB "
        + "free. Free space or run with --checkDiskSpace=false if the figure is wrong; nothing changed"));
    assertThat("one line", e.getMessage().contains("\n"), equalTo(false));
    try (Connection c = DB.connect()) {
      assertThat("same table", Db.queryLong(c, "SELECT 'ds.t'::regclass::oid::bigint"), equalTo(oid));
      assertThat("same rows", checksum(c), equalTo(before));
      assertThat("nothing created", Db.queryString(c, "SELECT string_agg(relname, ', ' ORDER BY relname) FROM pg_class "
          + "WHERE relnamespace = 'ds'::regnamespace"), equalTo("t, t_day_idx, t_pkey"));
      assertThat("no capture trigger", Db.queryLong(c, "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'ds.t'::regclass "
          + "AND NOT tgisinternal"), equalTo(0L));
    }

    RepartitionPipeline.run(options("--checkDiskSpace=false"), new RunReport("repartition"), small);
    try (Connection c = DB.connect()) {
      assertThat("--checkDiskSpace=false: the meter is not asked, the run goes on",
          Db.queryString(c, "SELECT pg_get_partkeydef('ds.t'::regclass)"), equalTo("RANGE (day)"));
    }
  }

  @Test
  public void theDryRunShowsWhatTheCopyNeedsAndWhatIsFree() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream stdout = System.out; // the plan goes there, as in scripts/run
    PrintStream captured = new PrintStream(out, true, StandardCharsets.UTF_8);
    List<String> args = new ArrayList<>(List.of("repartition"));
    args.addAll(Arrays.asList(DB.connectionArgs()));
    args.addAll(List.of("--table=ds.t", "--partitionColumn=day", "--dryRun=true"));
    System.setOut(captured);
    int code;
    try {
      code = Main.run(args.toArray(new String[0]), captured, new PrintStream(err, true, StandardCharsets.UTF_8));
    } finally {
      System.setOut(stdout);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    assertThat(err.toString(StandardCharsets.UTF_8), code, equalTo(0));
    assertThat(printed, containsString("  disk        needs about "));
    assertThat(printed, containsString("(the table, its TOAST and indexes: "));
    assertThat(printed, containsString("; tablespace pg_default ("));
  }

  private static RepartitionOptions options(String... extra) {
    List<String> a = new ArrayList<>(Arrays.asList(DB.connectionArgs()));
    a.addAll(List.of("--table=ds.t", "--partitionColumn=day", "--runner=DirectRunner"));
    a.addAll(Arrays.asList(extra));
    return PipelineOptionsFactory.fromArgs(a.toArray(new String[0])).as(RepartitionOptions.class);
  }

  private static String checksum(Connection c) throws SQLException {
    return Db.queryString(c, "SELECT count(*) || '/' || sum(hashtextextended(t::text, 0)) FROM ds.t t");
  }
}
