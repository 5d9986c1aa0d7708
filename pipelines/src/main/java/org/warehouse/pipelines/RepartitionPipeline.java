package org.warehouse.pipelines;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.Validation;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.pipelines.repartition.RepartitionPlan;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableChecksum;
import org.warehouse.transforms.tablecopy.TableRange;
import org.warehouse.transforms.repartition.CopyRangesInDatabase;

/**
 * repartition: moves a table into a table range-partitioned by month of a date/timestamp column, proves
 * that every row arrived in its month's partition, and swaps it in; the original stays as the backup
 * (see docs/repartition.md).
 *
 * <ol>
 *   <li>Check the table (views, foreign keys, triggers… that the move would break are refused) and
 *       take a SHARE lock on it for the whole run: readers go on, writers wait.
 *   <li>Create the partitioned table under a work name: one partition per month from the first row's
 *       month to the last one's plus {@code --monthsAhead}, and a default partition.
 *   <li>Beam: the table's ctid page ranges, each copied by one {@code INSERT … SELECT} on the server
 *       (rows never leave PostgreSQL), in parallel; meanwhile PostgreSQL sums the original per month.
 *   <li>Verify: every month's row count and content checksum on the original equal those of its
 *       partition. Then keys (widened by the partition column), indexes, foreign keys, grants, ANALYZE.
 *   <li>Swap in the same transaction as the lock: the original becomes {@code <table>_unpartitioned_backup},
 *       the partitioned table takes its name and index names. {@code --rollback} swaps back.
 * </ol>
 */
public final class RepartitionPipeline {
  /** Options of {@code scripts/run repartition}. */
  public interface RepartitionOptions extends WarehouseOptions {
    @Description("Table to partition ([schema.]table), e.g. fact_births")
    @Validation.Required
    String getTable();

    void setTable(String value);

    @Description("date, timestamp or timestamptz column whose month picks the partition (timestamptz: the month in UTC); "
        + "required but with --rollback")
    String getPartitionColumn();

    void setPartitionColumn(String value);

    @Description("Partitions for this many months after the last month with rows (later rows go to the default partition)")
    @Default.Integer(12)
    int getMonthsAhead();

    void setMonthsAhead(int value);

    @Description("About this many rows per copy range (ranges are copied in parallel, each in its own transaction)")
    @Default.Integer(250000)
    int getRangeRows();

    void setRangeRows(int value);

    @Description("Print the plan (months, partitions, key changes, DDL) and change nothing")
    @Default.Boolean(false)
    boolean getDryRun();

    void setDryRun(boolean value);

    @Description("Put the original table back (from <table>_unpartitioned_backup) if nothing changed since the run")
    @Default.Boolean(false)
    boolean getRollback();

    void setRollback(boolean value);

    @Description("Seconds to wait for the table's locks (the start of the copy, the swap, the rollback)")
    @Default.Integer(60)
    int getLockTimeoutSeconds();

    void setLockTimeoutSeconds(int value);
  }

  private static final long PROGRESS_SECONDS = 5;

  private RepartitionPipeline() {}

  public static PipelineResult run(RepartitionOptions options) throws Exception {
    return run(options, new RunReport("repartition"));
  }

  public static PipelineResult run(RepartitionOptions options, RunReport report) throws Exception {
    if (options.getDryRun() && options.getRollback()) {
      throw new IllegalArgumentException("--dryRun and --rollback exclude each other");
    }
    if (options.getMonthsAhead() < 0 || options.getRangeRows() < 1) {
      throw new IllegalArgumentException("--monthsAhead must be >= 0 and --rangeRows >= 1");
    }
    if (!options.getRollback() && (options.getPartitionColumn() == null || options.getPartitionColumn().isBlank())) {
      throw new IllegalArgumentException("missing required option --partitionColumn (the date, timestamp or timestamptz "
          + "column whose month picks the partition)");
    }
    TableRef table = TableRef.parse(options.getTable(), options.getSchema());
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    Progress progress = Progress.stdout();
    try (PipelineLock lock = PipelineLock.acquire(db, "repartition");
        Connection c = db.connect("warehouse-repartition")) {
      if (options.getRollback()) {
        rollback(c, table, options.getLockTimeoutSeconds(), progress, report);
        return null;
      }
      RepartitionPlan plan = RepartitionPlan.inspect(c, table, options.getPartitionColumn());
      if (plan == null) {
        progress.say("repartition: %s is already partitioned by range of %s: nothing to do", table,
            options.getPartitionColumn());
        report.table(table.toString(), -1, "already partitioned");
        return null;
      }
      if (Db.tableExists(c, RepartitionPlan.backupOf(table))) {
        throw new WarehouseException("table " + RepartitionPlan.backupOf(table) + " exists (the backup of an earlier "
            + "repartition of " + table + " that was rolled back or renamed?): drop it or rename it, then re-run; "
            + "nothing changed");
      }
      if (options.getDryRun()) {
        plan.readMonths(c);
        printPlan(plan, options, progress);
        printDdl(plan, options, progress);
        return null;
      }
      return repartition(c, db, plan, options, progress, report);
    }
  }

  private static PipelineResult repartition(Connection c, JdbcConfig db, RepartitionPlan plan, RepartitionOptions o,
      Progress progress, RunReport report) throws Exception {
    long started = System.nanoTime();
    TableRef table = plan.table();
    dropLeftovers(c, table, progress);
    ExecutorService background = Executors.newSingleThreadExecutor();
    c.setAutoCommit(false);
    try (Connection ddl = db.connect("warehouse-repartition-ddl")) {
      Db.execute(c, "SET LOCAL lock_timeout = '" + o.getLockTimeoutSeconds() + "s'");
      lockOrExplain(c, "LOCK TABLE " + table.quoted() + " IN SHARE MODE", table, o.getLockTimeoutSeconds(),
          "a transaction is writing it");
      plan.readMonths(c);
      printPlan(plan, o, progress);
      List<LocalDate> months = plan.months(o.getMonthsAhead());
      createPartitioned(ddl, plan, o.getMonthsAhead());
      Future<Map<String, TableChecksum>> expected = background.submit(() -> originalByPartition(db, plan, months));
      long t0 = System.nanoTime();
      PipelineResult result = copy(plan, db, o, progress);
      report.countersFrom(result);
      progress.say("repartition: copied in %s; verifying every month against the original...",
          Progress.seconds(System.nanoTime() - t0));
      long rows = verify(ddl, plan, expected.get(), progress);
      t0 = System.nanoTime();
      for (String sql : plan.keySql()) {
        Db.execute(ddl, sql);
      }
      Db.execute(ddl, "ANALYZE " + RepartitionPlan.stagingOf(table).quoted());
      Db.execute(ddl, "DROP TABLE " + RepartitionPlan.ledgerOf(table).quoted());
      progress.say("repartition: keys, indexes and ANALYZE in %s", Progress.seconds(System.nanoTime() - t0));
      lockOrExplain(c, "LOCK TABLE " + table.quoted() + " IN ACCESS EXCLUSIVE MODE", table, o.getLockTimeoutSeconds(),
          "long queries are reading it");
      for (String sql : plan.swapSql()) {
        Db.execute(c, sql);
      }
      c.commit();
      summary(plan, months.size(), rows, System.nanoTime() - started, progress);
      report.table(table.toString(), rows, "repartitioned into " + (months.size() + 1) + " partitions");
      return result;
    } catch (Exception | Error e) {
      rollbackQuietly(c, e);
      cleanUp(db, table, e);
      throw e;
    } finally {
      background.shutdownNow();
    }
  }

  /** The partitioned work table, its partitions and owner, and the copy's ledger. */
  private static void createPartitioned(Connection ddl, RepartitionPlan plan, int monthsAhead) throws SQLException {
    List<String> statements = new ArrayList<>(plan.createSql(monthsAhead));
    statements.addAll(plan.ownerSql(ddl.getMetaData().getUserName(), monthsAhead));
    statements.add(CopyRangesInDatabase.ledgerSql(RepartitionPlan.ledgerOf(plan.table()).quoted()));
    for (String sql : statements) {
      Db.execute(ddl, sql);
    }
  }

  /** Beam: copies every ctid page range of the original into the partitioned table, on the server. */
  private static PipelineResult copy(RepartitionPlan plan, JdbcConfig db, RepartitionOptions o, Progress progress)
      throws SQLException {
    List<TableRange> ranges = ranges(plan, o.getRangeRows());
    progress.say("repartition: copying %s in %d range(s)...", estimate(plan), ranges.size());
    Pipeline p = Pipeline.create(o);
    p.apply("PageRanges", Create.of(ranges).withCoder(TableRange.Coder.of()))
        .apply("SpreadRanges", Reshuffle.viaRandomKey())
        .apply("CopyIntoPartitions", CopyRangesInDatabase.into(db, RepartitionPlan.ledgerOf(plan.table()).quoted()));
    ScheduledExecutorService ticker = Executors.newSingleThreadScheduledExecutor();
    try (Connection watch = db.connect("warehouse-repartition-progress")) {
      long[] shown = {-1};
      ticker.scheduleWithFixedDelay(() -> showProgress(watch, plan, ranges.size(), shown, progress),
          PROGRESS_SECONDS, PROGRESS_SECONDS, TimeUnit.SECONDS);
      PipelineResult result = p.run();
      result.waitUntilFinish();
      return result;
    } finally {
      ticker.shutdownNow();
      try {
        ticker.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static void showProgress(Connection watch, RepartitionPlan plan, int ranges, long[] shown, Progress progress) {
    try (Statement st = watch.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*), coalesce(sum(rows_copied), 0) FROM "
            + RepartitionPlan.ledgerOf(plan.table()).quoted() + " WHERE rows_copied IS NOT NULL")) {
      rs.next();
      if (rs.getLong(2) != shown[0]) {
        shown[0] = rs.getLong(2);
        progress.say("repartition: %s rows copied of %s (%d of %d ranges)", Progress.rows(rs.getLong(2)),
            estimate(plan), rs.getLong(1), ranges);
      }
    } catch (SQLException e) {
      // progress only: the copy itself reports its errors
    }
  }

  /** The catalog's row estimate, in words (a table never analyzed has none). */
  private static String estimate(RepartitionPlan plan) {
    return plan.estimatedRows() > 0 ? "~" + Progress.rows(plan.estimatedRows()) + " rows (catalog estimate)"
        : "the table's rows (no estimate: never analyzed)";
  }

  /** The original's ctid page ranges of about {@code rowsPerRange} rows each; the last one is open. */
  static List<TableRange> ranges(RepartitionPlan plan, int rowsPerRange) {
    long pages = Math.max(1, plan.pages());
    long rowsPerPage = plan.estimatedRows() > 0 ? Math.max(1, plan.estimatedRows() / pages) : 100;
    long pagesPerRange = Math.max(1, rowsPerRange / rowsPerPage);
    List<TableRange> out = new ArrayList<>();
    String staging = RepartitionPlan.stagingOf(plan.table()).quoted();
    for (long from = 0; ; from += pagesPerRange) {
      boolean last = from + pagesPerRange >= pages;
      out.add(new TableRange(staging, plan.quotedColumns(), plan.table().quoted(), from,
          last ? TableRange.ALL_PAGES : from + pagesPerRange));
      if (last) {
        return out;
      }
    }
  }

  /** Count and checksum of the original per target partition (months beyond the partitions: default). */
  private static Map<String, TableChecksum> originalByPartition(JdbcConfig db, RepartitionPlan plan,
      List<LocalDate> months) throws SQLException {
    Set<LocalDate> partitioned = new HashSet<>(months);
    Map<String, TableChecksum> out = new TreeMap<>();
    try (Connection c = db.connect("warehouse-repartition-checksum")) {
      Db.execute(c, TableChecksum.SESSION_SETTINGS);
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT " + plan.monthOf("t") + ", count(*), "
              + "coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM " + plan.table().quoted() + " AS t GROUP BY 1")) {
        while (rs.next()) {
          LocalDate month = rs.getDate(1) == null ? null : rs.getDate(1).toLocalDate();
          String partition = month != null && partitioned.contains(month) ? plan.partition(month).name()
              : plan.defaultPartition().name();
          out.merge(partition, new TableChecksum(rs.getLong(2), rs.getString(3)), TableChecksum::plus);
        }
      }
    }
    return out;
  }

  /** Compares every partition's rows with the original's rows of its month; returns the row count. */
  private static long verify(Connection ddl, RepartitionPlan plan, Map<String, TableChecksum> expected,
      Progress progress) throws SQLException {
    Map<String, TableChecksum> actual = new TreeMap<>();
    Db.execute(ddl, TableChecksum.SESSION_SETTINGS);
    try (Statement st = ddl.createStatement();
        ResultSet rs = st.executeQuery("SELECT k.relname, x.n, x.s FROM (SELECT t.tableoid, count(*) AS n, "
            + "coalesce(sum(hashtextextended(t::text, 0)), 0)::text AS s FROM "
            + RepartitionPlan.stagingOf(plan.table()).quoted() + " AS t GROUP BY 1) x JOIN pg_class k ON k.oid = x.tableoid")) {
      while (rs.next()) {
        actual.put(rs.getString(1), new TableChecksum(rs.getLong(2), rs.getString(3)));
      }
    }
    long rows = 0;
    Set<String> names = new HashSet<>(expected.keySet());
    names.addAll(actual.keySet());
    for (String name : names) {
      TableChecksum want = expected.getOrDefault(name, new TableChecksum(0, "0"));
      TableChecksum got = actual.getOrDefault(name, new TableChecksum(0, "0"));
      if (!want.equals(got)) {
        throw new WarehouseException("verification failed for partition " + name + " of " + plan.table()
            + ": the original's rows of its months: " + want + "; the partition holds " + got
            + "; nothing changed (the original table is untouched)");
      }
      rows += got.rows();
    }
    progress.say("repartition: verified %s rows in %d partitions: each partition's row count and checksum equal "
        + "the original's rows of its month", Progress.rows(rows), actual.size());
    return rows;
  }

  private static void lockOrExplain(Connection c, String sql, TableRef table, int timeoutSeconds, String why)
      throws SQLException {
    try {
      Db.execute(c, sql);
    } catch (SQLException e) {
      if ("55P03".equals(e.getSQLState())) {
        throw new WarehouseException("could not lock " + table + " within " + timeoutSeconds + " s ("
            + why + "); nothing changed: retry later or raise --lockTimeoutSeconds", e);
      }
      throw e;
    }
  }

  /** A killed run leaves its work tables; they were never visible under the table's name. */
  private static void dropLeftovers(Connection c, TableRef table, Progress progress) throws SQLException {
    for (TableRef t : List.of(RepartitionPlan.stagingOf(table), RepartitionPlan.ledgerOf(table))) {
      if (Db.tableExists(c, t)) {
        progress.say("repartition: dropping %s, left by an earlier run that did not finish", t);
        Db.execute(c, "DROP TABLE " + t.quoted());
      }
    }
  }

  private static void rollbackQuietly(Connection c, Throwable cause) {
    try {
      c.rollback();
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  private static void cleanUp(JdbcConfig db, TableRef table, Throwable cause) {
    try (Connection c = db.connect("warehouse-repartition-cleanup")) {
      Db.execute(c, "DROP TABLE IF EXISTS " + RepartitionPlan.stagingOf(table).quoted() + ", "
          + RepartitionPlan.ledgerOf(table).quoted());
    } catch (SQLException e) {
      cause.addSuppressed(e);
    }
  }

  private static void printPlan(RepartitionPlan plan, RepartitionOptions o, Progress progress) {
    List<LocalDate> months = plan.months(o.getMonthsAhead());
    TableRef t = plan.table();
    progress.say("repartition %s by month of %s:", t, plan.column());
    progress.say("  rows        %s; rows from %s to %s", estimate(plan),
        plan.firstMonth().toString().substring(0, 7), plan.lastMonth().toString().substring(0, 7));
    progress.say("  partitions  %d monthly, %s .. %s (%d month(s) ahead), and %s (NULL, earlier or later dates)",
        months.size(), plan.partition(months.get(0)).name(), plan.partition(months.get(months.size() - 1)).name(),
        o.getMonthsAhead(), plan.defaultPartition().name());
    for (String change : plan.keyChanges()) {
      progress.say("  key         %s", change);
    }
    progress.say("  backup      the original stays as %s (drop it when satisfied; --rollback puts it back)",
        RepartitionPlan.backupOf(t).name());
    progress.say("  locks       writers wait until the swap (SHARE lock); readers wait only for the swap itself");
  }

  private static void printDdl(RepartitionPlan plan, RepartitionOptions o, Progress progress) {
    progress.say("DDL (dry run: nothing was changed):");
    List<String> create = plan.createSql(o.getMonthsAhead());
    int shown = 0;
    for (String sql : create) {
      if (sql.startsWith("CREATE TABLE") && sql.contains(" PARTITION OF ") && !sql.endsWith(" DEFAULT")
          && shown++ >= 2) {
        continue;
      }
      progress.say("  %s;", sql);
    }
    if (shown > 2) {
      progress.say("  -- and %d more monthly partitions like those", shown - 2);
    }
    progress.say("  -- copy in ranges, verify, then:");
    for (String sql : plan.keySql()) {
      progress.say("  %s;", sql);
    }
    progress.say("  -- the swap:");
    for (String sql : plan.swapSql()) {
      progress.say("  %s;", sql);
    }
  }

  private static void summary(RepartitionPlan plan, int months, long rows, long nanos, Progress progress) {
    progress.say("repartition: summary");
    progress.say("  table       %s, partitioned by range of %s: %d monthly partitions + %s", plan.table(),
        plan.column(), months, plan.defaultPartition().name());
    progress.say("  rows        %s, every one verified in its month's partition", Progress.rows(rows));
    progress.say("  backup      %s (drop it when satisfied; --rollback=true puts it back)",
        RepartitionPlan.backupOf(plan.table()));
    progress.say("  time        %s", Progress.seconds(nanos));
  }

  /** Puts the original back, if the partitioned table still holds exactly the backup's rows. */
  static void rollback(Connection c, TableRef table, int lockTimeoutSeconds, Progress progress, RunReport report)
      throws SQLException {
    TableRef backup = RepartitionPlan.backupOf(table);
    if (!Db.tableExists(c, backup)) {
      throw new WarehouseException("nothing to roll back: " + backup + " does not exist (no repartition of " + table
          + " to undo, or its backup was dropped)");
    }
    if (Db.queryLong(c, "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = to_regclass("
        + Sql.literal(table.quoted()) + ")") == 0) {
      throw new WarehouseException("nothing to roll back: " + table + " is not a partitioned table");
    }
    Db.inTransaction(c, () -> {
      Db.execute(c, "SET LOCAL lock_timeout = '" + lockTimeoutSeconds + "s'");
      lockOrExplain(c, "LOCK TABLE " + table.quoted() + ", " + backup.quoted() + " IN SHARE MODE", table,
          lockTimeoutSeconds, "a transaction is writing it");
      TableChecksum now = TableChecksum.of(c, table);
      TableChecksum before = TableChecksum.of(c, backup);
      if (!now.equals(before)) {
        throw new WarehouseException("not rolled back: " + table + " changed since the repartition (" + now
            + "; the backup " + backup + " has " + before + "), and a rollback would lose that; copy the new rows "
            + "into the backup first, or keep the partitioned table and drop the backup; nothing changed");
      }
      lockOrExplain(c, "LOCK TABLE " + table.quoted() + ", " + backup.quoted() + " IN ACCESS EXCLUSIVE MODE", table,
          lockTimeoutSeconds, "long queries are reading it");
      for (String sql : RepartitionPlan.rollbackSql(c, table)) {
        Db.execute(c, sql);
      }
      progress.say("repartition: rolled back: %s is the original, unpartitioned table again (%s rows); the "
          + "partitioned one was dropped", table, Progress.rows(before.rows()));
      report.table(table.toString(), before.rows(), "rolled back");
      return null;
    });
  }
}
