package org.warehouse.pipelines;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.lang.management.ManagementFactory;
import java.util.Collections;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.warehouse.pipelines.common.ReportOptions;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.jdbc.WriteByCopy;
import org.warehouse.transforms.tablecopy.ReadTableRanges;
import org.warehouse.transforms.tablecopy.TableChecksum;
import org.warehouse.transforms.tablecopy.TableRange;

/**
 * promote: copies the dim_* and agg_* tables of a source (staging) database to a target
 * (production) database, verified, and published all-or-nothing.
 *
 * <ol>
 *   <li>Select the source tables by globs and print them by category.
 *   <li>Read each table's definition and checksum on the source; skip tables whose target copy has
 *       the same columns and the same checksum (unchanged); refuse early when a target table has
 *       dependent objects and its columns changed (the swap could not keep them).
 *   <li>Create {@code <table>__staging} on the target from the source definition.
 *   <li>Beam: every table's ctid ranges → read as COPY text from the source → COPY into staging.
 *   <li>Add constraints/indexes; verify row count and checksum of every staging table against the
 *       source.
 *   <li>Publish every staging table in ONE target transaction ({@link TableSwap}): all tables or
 *       none. Any failure before the commit drops the staging tables; production is unchanged.
 * </ol>
 */
public final class PromotePipeline {
  static final String STAGING_SUFFIX = "__staging";

  /** Options of {@code scripts/run promote}. */
  public interface PromoteOptions extends ReportOptions {
    @Description("JDBC URL of the source (staging) database, without a password")
    @Validation.Required
    String getSourceUrl();

    void setSourceUrl(String value);

    @Description("Source database user (default: $PGUSER, else postgres)")
    String getSourceUser();

    void setSourceUser(String value);

    @Description("File whose first line is the source password (default: $PGPASSWORD)")
    String getSourcePasswordFile();

    void setSourcePasswordFile(String value);

    @Description("JDBC URL of the target (production) database, without a password")
    @Validation.Required
    String getTargetUrl();

    void setTargetUrl(String value);

    @Description("Target database user (default: $PGUSER, else postgres)")
    String getTargetUser();

    void setTargetUser(String value);

    @Description("File whose first line is the target password (default: $PGPASSWORD)")
    String getTargetPasswordFile();

    void setTargetPasswordFile(String value);

    @Description("Schema of the tables, on the source and on the target")
    @Default.String("public")
    String getSchema();

    void setSchema(String value);

    @Description("Comma-separated globs of table names to promote (* and ?)")
    @Default.String("dim_*,agg_*")
    String getInclude();

    void setInclude(String value);

    @Description("Comma-separated globs of table names never to promote (our *__staging tables always are)")
    @Default.String("fact_*,*_backup")
    String getExclude();

    void setExclude(String value);

    @Description("Print the plan (tables, source row counts, DDL) and change nothing")
    @Default.Boolean(false)
    boolean getDryRun();

    void setDryRun(boolean value);

    @Description("How ranges are read: COPY (the source's COPY ... TO STDOUT) or JDBC (SELECT col::text via a cursor)")
    @Default.Enum("COPY")
    ReadTableRanges.Mode getReadMode();

    void setReadMode(ReadTableRanges.Mode value);

    @Description("Split tables into ctid ranges of about this many rows, read in parallel")
    @Default.Integer(50000)
    int getRowsPerRange();

    void setRowsPerRange(int value);

    @Description("Seconds to wait for dashboard queries to release the production tables at swap time")
    @Default.Integer(60)
    int getLockTimeoutSeconds();

    void setLockTimeoutSeconds(int value);
  }

  /** One selected table and what the run learned about it. */
  static final class Plan {
    final TableRef source;
    final TableRef target;
    final TableRef staging;
    final String category;
    TableDefinition definition;
    TableChecksum sourceSum;
    /** The source checksum, computed on the source workers while the run goes on (joined before use). */
    CompletableFuture<TableChecksum> sourceSumFuture;
    long pages;
    long estimatedRows; // pg_class.reltuples, or a guess from the size when the table was never analyzed
    boolean targetExists;
    boolean unchanged;
    String blocked; // non-null: why the swap cannot work

    Plan(TableRef source, TableRef target, String category) {
      this.source = source;
      this.target = target;
      this.staging = target.withSuffix(STAGING_SUFFIX);
      this.category = category;
    }
  }

  private static final String[] CATEGORIES = {"Fact", "Dimension", "Aggregate", "Other"};

  private PromotePipeline() {}

  /** Test seam: runs the whole job. Returns null when nothing needed copying (or a dry run). */
  public static PipelineResult run(PromoteOptions options) throws Exception {
    return run(options, new RunReport("promote"));
  }

  public static PipelineResult run(PromoteOptions options, RunReport report) throws Exception {
    Progress progress = Progress.stdout();
    long started = System.nanoTime();
    JdbcConfig source = config("source", options.getSourceUrl(), options.getSourceUser(), options.getSourcePasswordFile());
    JdbcConfig target = config("target", options.getTargetUrl(), options.getTargetUser(), options.getTargetPasswordFile());
    report.target(target.url());
    String schema = Sql.requireIdent("--schema", options.getSchema());
    List<Pattern> include = globs(options.getInclude(), "--include");
    List<Pattern> exclude = globs(options.getExclude(), "--exclude");
    exclude.add(glob("*" + STAGING_SUFFIX));

    Phases phases = new Phases();
    try (Connection src = connect(source, "source");
        Connection tgt = connect(target, "target");
        Workers sourceWorkers = new Workers(source, "warehouse-promote-checksum", SOURCE_WORKERS, phases);
        Workers targetWorkers = new Workers(target, "warehouse-promote-verify", TARGET_WORKERS, phases)) {
      // the table list reads each table's size (a lock), and the snapshot's LOCK waits for exclusive holders
      Db.execute(src, "SET lock_timeout = '" + options.getLockTimeoutSeconds() + "s'");
      List<Plan> plans = sourceLocked(options, () -> select(src, schema, include, exclude, options, progress));
      String snapshot = sourceLocked(options, () -> exportSnapshot(src, plans));
      // every source checksum starts now, on its own connections, and runs while the catalogs are
      // read, the staging tables created, the pipeline built and run; joined only where needed
      for (Plan p : plans) {
        p.sourceSumFuture = checksum(sourceWorkers, "source checksum", p.source, p.pages, snapshot);
      }
      try (Workers catalog = new Workers(source, "warehouse-promote-catalog", CATALOG_WORKERS, phases)) {
        readSource(catalog, plans);
      }
      phases.lap("catalog (source + target)");
      inspectTarget(targetWorkers, tgt, plans);
      phases.lap("skip-unchanged check (checksums of existing target tables)");
      if (options.getDryRun()) {
        for (Plan p : plans) {
          p.sourceSum = join(p.sourceSumFuture);
        }
        printPlan(plans, progress);
        progress.say("Dry run: nothing was changed on %s", target.url());
        return null;
      }
      for (Plan p : plans) {
        if (p.blocked != null) {
          throw new WarehouseException(p.blocked);
        }
      }
      try (PipelineLock lock = PipelineLock.acquire(target, "promote")) {
        return promote(options, report, progress, source, snapshot, target, tgt, plans, schema, started, phases,
            targetWorkers);
      }
    }
  }

  private static PipelineResult promote(PromoteOptions options, RunReport report, Progress progress,
      JdbcConfig source, String snapshot, JdbcConfig target, Connection tgt, List<Plan> plans, String schema, long started,
      Phases phases, Workers targetWorkers) throws Exception {
    List<Plan> copy = new ArrayList<>();
    for (Plan p : plans) {
      if (!p.unchanged) {
        copy.add(p);
      }
    }
    PipelineResult result = null;
    List<String> how = new ArrayList<>();
    if (!copy.isEmpty()) {
      Db.execute(tgt, "CREATE SCHEMA IF NOT EXISTS " + Sql.quoteIdent(schema));
      try {
        for (Plan p : copy) {
          Db.dropIfExists(tgt, p.staging);
          for (String ddl : p.definition.createSql(p.staging)) {
            Db.execute(tgt, ddl);
          }
        }
        phases.lap("staging DDL");
        long rows = 0;
        for (Plan p : copy) {
          rows += p.estimatedRows;
        }
        List<TableRange> ranges = ranges(copy, options.getReadMode(), options.getRowsPerRange());
        progress.say("Copying %d tables (~%s rows, %d ranges) in one pipeline...", copy.size(),
            Progress.rows(rows), ranges.size());
        long t0 = System.nanoTime();
        result = runPipeline(options, source, snapshot, target, ranges, phases);
        report.countersFrom(result);
        progress.say("Copied in %s; verifying and adding indexes...", Progress.seconds(System.nanoTime() - t0));
        verifyAndIndex(tgt, copy, targetWorkers, phases);
        phases.lap("verify + indexes + analyze (parallel)");
        progress.say("Verified %d tables: row counts and checksums equal on source and target", copy.size());
        List<TableSwap.Swap> swaps = new ArrayList<>();
        for (Plan p : copy) {
          swaps.add(new TableSwap.Swap(p.staging, p.target, p.definition.indexNames()));
        }
        how = TableSwap.publish(tgt, swaps, options.getLockTimeoutSeconds());
        phases.lap("publish (one transaction)");
      } catch (Exception | Error e) {
        dropQuietly(tgt, copy);
        throw e;
      }
    }
    int i = 0;
    int k = 0;
    long total = 0;
    Map<String, int[]> perCategory = new LinkedHashMap<>();
    for (Plan p : plans) {
      int[] counts = perCategory.computeIfAbsent(p.category, x -> new int[2]);
      counts[0]++;
      total += p.sourceSum.rows();
      String action;
      if (p.unchanged) {
        counts[1]++;
        action = "unchanged, skipped";
        progress.step(++i, plans.size(), "Promoting table: %s… %s rows, unchanged (skipped) ✓", p.target,
            Progress.rows(p.sourceSum.rows()));
      } else {
        String h = how.get(k++);
        action = h.substring(h.indexOf(": ") + 2);
        progress.step(++i, plans.size(), "Promoting table: %s… %s rows ✓ (%s)", p.target,
            Progress.rows(p.sourceSum.rows()), action);
      }
      report.table(p.target.toString(), p.sourceSum.rows(), action);
    }
    progress.say("");
    progress.say("Summary (published all-or-nothing in one transaction):");
    for (Map.Entry<String, int[]> e : perCategory.entrySet()) {
      progress.say("  %-18s %d%s", e.getKey() + " tables:", e.getValue()[0],
          e.getValue()[1] > 0 ? " (" + e.getValue()[1] + " unchanged, skipped)" : "");
    }
    progress.say("  %-18s %s", "Total rows:", Progress.rows(total));
    progress.say("  %-18s %s", "Time:", Progress.seconds(System.nanoTime() - started));
    progress.say("");
    phases.print(progress, started);
    report.detail("tablesCopied", copy.size()).detail("tablesUnchanged", plans.size() - copy.size())
        .detail("totalRows", total);
    phases.report(report);
    return result;
  }

  static PipelineResult runPipeline(PromoteOptions options, JdbcConfig source, String snapshot, JdbcConfig target,
      List<TableRange> ranges, Phases phases) {
    Pipeline p = Pipeline.create(options);
    p.apply("TableRanges", Create.of(ranges).withCoder(TableRange.Coder.of()))
        .apply("SpreadRanges", Reshuffle.viaRandomKey())
        .apply("ReadFromSource", ReadTableRanges.from(source, options.getReadMode()).inSnapshot(snapshot))
        .apply("CopyIntoStagingTables", WriteByCopy.chunksTo(target));
    phases.lap("pipeline build");
    PipelineResult result = p.run();
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      throw new WarehouseException("the promote pipeline ended in state " + state + "; production unchanged");
    }
    phases.lap("copy (runner start + read + COPY)");
    return result;
  }

  /**
   * After the copy, on the target workers: each staging table's checksum (big tables in several ctid
   * ranges on several connections) and its ANALYZE, then — as soon as both are done, on the next free
   * connection — its indexes/constraints. Largest tables first. Waits for every task,
   * then fails on the first error or on the first table whose checksum differs from the source's.
   */
  private static void verifyAndIndex(Connection tgt, List<Plan> copy, Workers workers, Phases phases)
      throws Exception {
    List<Plan> bySize = new ArrayList<>(copy);
    bySize.sort(Comparator.comparingLong((Plan p) -> p.pages).reversed());
    Map<Plan, CompletableFuture<TableChecksum>> sums = new LinkedHashMap<>();
    for (Plan p : bySize) {
      long pages = Db.queryLong(tgt, "SELECT pg_relation_size(" + Sql.literal(p.staging.quoted())
          + "::regclass) / current_setting('block_size')::bigint");
      sums.put(p, checksum(workers, "target checksum", p.staging, pages, null));
    }
    List<CompletableFuture<?>> all = new ArrayList<>(sums.values());
    for (Plan p : bySize) {
      // ANALYZE (SHARE UPDATE EXCLUSIVE) runs alongside the checksum queries (ACCESS SHARE); the index
      // and constraint DDL (up to ACCESS EXCLUSIVE) waits for both
      CompletableFuture<Object> analyzed = workers.submit("analyze", c -> {
        Db.execute(c, "ANALYZE " + p.staging.quoted());
        return null;
      });
      all.add(analyzed);
      all.add(sums.get(p).thenCombine(analyzed, (sum, x) -> x).thenCompose(x -> workers.submit("index build", c -> {
        for (String ddl : p.definition.indexSql(p.staging)) {
          Db.execute(c, ddl);
        }
        return null;
      })));
    }
    // let every task end (a failed one must not leave another still working on a staging table)
    CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).handle((x, e) -> null).join();
    for (Plan p : copy) {
      TableChecksum copied = join(sums.get(p));
      p.sourceSum = join(p.sourceSumFuture);
      if (!copied.equals(p.sourceSum)) {
        throw new WarehouseException("verification failed for table " + p.source + ": source has "
            + p.sourceSum + " in the run's snapshot, the copy has " + copied + " (the copy differs from "
            + "what was read: a trigger or a rule on the target?); production unchanged");
      }
    }
    for (CompletableFuture<?> f : all) {
      join(f);
    }
  }

  /**
   * Opens, on the source session, the transaction every source read of the run shares: REPEATABLE READ,
   * the selected tables locked in ACCESS SHARE mode first (nobody can drop, rename or rewrite them until
   * the run ends: a swap by aggregate on the source waits), then its snapshot exported. The copy's
   * readers and the source checksums import it, so they all see the source of one moment, whatever
   * commits meanwhile. The transaction ends when the run closes the session.
   */
  static String exportSnapshot(Connection src, List<Plan> plans) throws SQLException {
    src.setAutoCommit(false);
    Db.execute(src, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    List<String> tables = new ArrayList<>();
    for (Plan p : plans) {
      tables.add(p.source.quoted());
    }
    Db.execute(src, "LOCK TABLE " + String.join(", ", tables) + " IN ACCESS SHARE MODE");
    return Db.queryString(src, "SELECT pg_export_snapshot()");
  }

  /** Runs a step on the source session; a lock timeout there becomes one line that says what to do. */
  static <T> T sourceLocked(PromoteOptions options, Db.TransactionWork<T> step) throws SQLException {
    try {
      return step.run();
    } catch (SQLException e) {
      if ("55P03".equals(e.getSQLState())) {
        throw new WarehouseException("could not lock the source tables within " + options.getLockTimeoutSeconds()
            + " s (a session holds one exclusively: a table swap or an ALTER on the source?); nothing changed, "
            + "retry later or raise --lockTimeoutSeconds", e);
      }
      throw e;
    }
  }

  /** Pages per checksum query: bigger tables are summed in several ctid ranges, in parallel. */
  static final long CHECKSUM_PAGES = 1500;
  static final int SOURCE_WORKERS = 2;
  static final int TARGET_WORKERS = 4;
  static final int CATALOG_WORKERS = 3;

  /**
   * A table's checksum: one query per CHECKSUM_PAGES pages (the last range open-ended), added up; in
   * the exported {@code snapshot} when it is not null.
   */
  static CompletableFuture<TableChecksum> checksum(Workers workers, String phase, TableRef table, long pages,
      String snapshot) {
    List<CompletableFuture<TableChecksum>> parts = new ArrayList<>();
    long n = Math.max(1, (pages + CHECKSUM_PAGES - 1) / CHECKSUM_PAGES);
    for (long i = 0; i < n; i++) {
      long from = i * CHECKSUM_PAGES;
      long to = i == n - 1 ? TableRange.ALL_PAGES : from + CHECKSUM_PAGES;
      String where = n == 1 ? null : new TableRange("", "", "", from, to).where();
      parts.add(workers.submit(phase, c -> snapshot == null ? TableChecksum.of(c, table, where)
          : Db.inSnapshot(c, snapshot, table.quoted(), () -> TableChecksum.of(c, table, where))));
    }
    CompletableFuture<TableChecksum> sum = parts.get(0);
    for (int i = 1; i < parts.size(); i++) {
      sum = sum.thenCombine(parts.get(i), TableChecksum::plus);
    }
    return sum;
  }

  /** The value of a future; its failure rethrown as the original exception. */
  static <T> T join(CompletableFuture<T> f) throws Exception {
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      while (cause instanceof CompletionException && cause.getCause() != null) {
        cause = cause.getCause();
      }
      if (cause instanceof Exception) {
        throw (Exception) cause;
      }
      if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw e;
    }
  }

  /**
   * A fixed set of threads, each with its own lazily opened connection (kept for the whole run: no
   * connection set-up per query); time spent per phase name is summed into {@link Phases}.
   */
  static final class Workers implements AutoCloseable {
    private final JdbcConfig config;
    private final String appName;
    private final ExecutorService pool;
    private final Phases phases;
    private final List<Connection> opened = Collections.synchronizedList(new ArrayList<>());
    private final ThreadLocal<Connection> connection = new ThreadLocal<>();

    Workers(JdbcConfig config, String appName, int threads, Phases phases) {
      this.config = config;
      this.appName = appName;
      this.phases = phases;
      AtomicInteger k = new AtomicInteger();
      this.pool = Executors.newFixedThreadPool(threads, r -> {
        Thread t = new Thread(r, appName + "-" + k.incrementAndGet());
        t.setDaemon(true);
        return t;
      });
    }

    <T> CompletableFuture<T> submit(String phase, SqlTask<T> task) {
      return CompletableFuture.supplyAsync(() -> {
        long t0 = System.nanoTime();
        try {
          Connection c = connection.get();
          if (c == null) {
            c = config.connect(appName);
            opened.add(c);
            connection.set(c);
          }
          return task.run(c);
        } catch (Exception e) {
          throw new CompletionException(e);
        } finally {
          phases.busy(phase, System.nanoTime() - t0);
        }
      }, pool);
    }

    @Override
    public void close() {
      pool.shutdownNow();
      synchronized (opened) {
        for (Connection c : opened) {
          try {
            c.close();
          } catch (SQLException ignored) {
            // closing: nothing left to do with it
          }
        }
      }
    }
  }

  @FunctionalInterface
  interface SqlTask<T> {
    T run(Connection c) throws Exception;
  }

  /**
   * Phase timings of one run: the wall time of each sequential step of the driver ({@link #lap}),
   * and the busy time summed over the worker connections per kind of background work ({@link
   * #busy}: source/target checksums, index builds, ANALYZE — they overlap other steps).
   */
  static final class Phases {
    private final Map<String, Long> wall = Collections.synchronizedMap(new LinkedHashMap<>());
    private final Map<String, AtomicLong> busy = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> tasks = new ConcurrentHashMap<>();
    private long mark = System.nanoTime();

    void lap(String name) {
      long now = System.nanoTime();
      wall.merge(name, now - mark, Long::sum);
      mark = now;
    }

    void busy(String name, long nanos) {
      busy.computeIfAbsent(name, x -> new AtomicLong()).addAndGet(nanos);
      tasks.computeIfAbsent(name, x -> new AtomicInteger()).incrementAndGet();
    }

    void print(Progress progress, long started) {
      progress.say("Phase timings (wall, in order):");
      long jvm = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
      long sinceRun = (System.nanoTime() - started) / 1_000_000;
      progress.say("  %-58s %s", "JVM start + launcher, before promote began", Progress.seconds(
          Math.max(0, jvm - sinceRun) * 1_000_000L));
      synchronized (wall) {
        for (Map.Entry<String, Long> e : wall.entrySet()) {
          progress.say("  %-58s %s", e.getKey(), Progress.seconds(e.getValue()));
        }
      }
      progress.say("Background work (busy time summed over the worker connections; overlaps the above):");
      for (String name : List.of("source catalog", "source checksum", "target checksum", "index build", "analyze")) {
        if (busy.containsKey(name)) {
          progress.say("  %-58s %s", name + " (" + tasks.get(name) + " queries)", Progress.seconds(busy.get(name).get()));
        }
      }
    }

    void report(RunReport report) {
      synchronized (wall) {
        for (Map.Entry<String, Long> e : wall.entrySet()) {
          report.detail("phaseSeconds " + e.getKey(), e.getValue() / 1e9);
        }
      }
      for (Map.Entry<String, AtomicLong> e : busy.entrySet()) {
        report.detail("busySeconds " + e.getKey(), e.getValue().get() / 1e9);
      }
    }
  }

  /** Splits every table into ctid page ranges of about rowsPerRange rows; the last range is open. */
  static List<TableRange> ranges(List<Plan> plans, ReadTableRanges.Mode mode, int rowsPerRange) {
    List<TableRange> out = new ArrayList<>();
    for (Plan p : plans) {
      String cols = ReadTableRanges.selectList(mode, p.definition.copyColumns());
      String dest = p.staging.schema() + "." + p.staging.name();
      long rows = p.estimatedRows;
      long n = Math.max(1, (rows + Math.max(1, rowsPerRange) - 1) / Math.max(1, rowsPerRange));
      n = Math.min(n, Math.max(1, p.pages));
      long per = Math.max(1, (p.pages + n - 1) / n);
      long from = 0;
      for (long i = 0; i < n; i++) {
        long to = i == n - 1 ? TableRange.ALL_PAGES : from + per;
        out.add(new TableRange(dest, cols, p.source.quoted(), from, to));
        from = to;
      }
    }
    return out;
  }

  /** Lists the source tables, categorizes them, prints the list; fails when none is selected. */
  static List<Plan> select(Connection src, String schema, List<Pattern> include, List<Pattern> exclude,
      PromoteOptions options, Progress progress) throws SQLException {
    List<String> names = new ArrayList<>();
    Map<String, long[]> sizes = new LinkedHashMap<>(); // name -> {pages, estimated rows}
    try (PreparedStatement ps = src.prepareStatement(
        "SELECT k.relname, pg_relation_size(k.oid) / current_setting('block_size')::bigint, k.reltuples::bigint "
            + "FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
            + "WHERE n.nspname = ? AND k.relkind IN ('r', 'p') AND NOT k.relispartition ORDER BY k.relname")) {
      ps.setString(1, schema);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
          long pages = rs.getLong(2);
          long tuples = rs.getLong(3);
          // reltuples is -1 for a table never vacuumed/analyzed: guess ~100 rows per page (only the
          // number of copy ranges depends on it)
          sizes.put(rs.getString(1), new long[] {pages, tuples >= 0 ? tuples : pages * 100});
        }
      }
    }
    Map<String, List<String>> chosen = new LinkedHashMap<>();
    Map<String, List<String>> left = new LinkedHashMap<>();
    List<Plan> plans = new ArrayList<>();
    for (String name : names) {
      if (name.endsWith(STAGING_SUFFIX)) {
        continue;
      }
      String cat = category(name);
      boolean in = matchesAny(include, name) && !matchesAny(exclude, name);
      if (in) {
        TableRef t;
        try {
          t = TableRef.of(schema, name);
        } catch (IllegalArgumentException e) {
          throw new WarehouseException("table " + schema + "." + name + " cannot be promoted: " + e.getMessage()
              + "; rename it or exclude it with --exclude");
        }
        Plan plan = new Plan(t, t, cat);
        plan.pages = sizes.get(name)[0];
        plan.estimatedRows = sizes.get(name)[1];
        plans.add(plan);
        chosen.computeIfAbsent(cat, x -> new ArrayList<>()).add(name);
      } else if (!"Other".equals(cat) || matchesAny(include, name)) {
        left.computeIfAbsent(cat, x -> new ArrayList<>()).add(name);
      }
    }
    plans.sort((a, b) -> a.category.equals(b.category) ? a.source.name().compareTo(b.source.name())
        : Integer.compare(categoryOrder(a.category), categoryOrder(b.category)));
    if (plans.isEmpty()) {
      throw new WarehouseException("no table in schema " + schema + " of " + options.getSourceUrl()
          + " matches --include=" + options.getInclude() + " without matching --exclude=" + options.getExclude()
          + " (" + names.size() + " tables there): check --include, --exclude and --schema");
    }
    progress.say("Found %d tables to promote:", plans.size());
    for (String cat : CATEGORIES) { // Fact first: the excluded fact tables, as the seed script printed
      List<String> excluded = left.getOrDefault(cat, List.of());
      List<String> selected = chosen.getOrDefault(cat, List.of());
      if (!excluded.isEmpty() && "Fact".equals(cat)) {
        progress.say("  %s tables (%d, excluded): %s", cat, excluded.size(), String.join(", ", excluded));
      }
      if (!selected.isEmpty()) {
        progress.say("  %s tables (%d): %s", cat, selected.size(), String.join(", ", selected));
      }
      if (!excluded.isEmpty() && !"Fact".equals(cat)) {
        progress.say("  %s tables (%d, excluded): %s", cat, excluded.size(), String.join(", ", excluded));
      }
    }
    return plans;
  }

  /** Definitions of the selected source tables (their checksums are under way on other connections). */
  private static void readSource(Workers catalog, List<Plan> plans) throws Exception {
    List<CompletableFuture<TableDefinition>> defs = new ArrayList<>();
    for (Plan p : plans) {
      defs.add(catalog.submit("source catalog", c -> TableDefinition.read(c, p.source)));
    }
    for (int i = 0; i < plans.size(); i++) {
      plans.get(i).definition = join(defs.get(i));
    }
  }

  /** Which target tables exist, are unchanged (same columns and checksum), or block the swap. */
  private static void inspectTarget(Workers targetWorkers, Connection tgt, List<Plan> plans) throws Exception {
    List<Plan> same = new ArrayList<>();
    for (Plan p : plans) {
      Map<String, String> cols = Db.columns(tgt, p.target);
      p.targetExists = !cols.isEmpty();
      if (!p.targetExists) {
        continue;
      }
      if (cols.equals(p.definition.columnTypes())) {
        same.add(p);
      } else if (TableSwap.hasDependents(tgt, p.target)) {
        p.blocked = "table " + p.target + " on the target has dependent views, foreign keys or grants and its "
            + "columns differ from the source (target " + cols + ", source " + p.definition.columnTypes()
            + "): drop or adapt the dependent objects, then re-run; production unchanged";
      }
    }
    List<CompletableFuture<TableChecksum>> sums = new ArrayList<>();
    for (Plan p : same) {
      long pages = Db.queryLong(tgt, "SELECT pg_relation_size(" + Sql.literal(p.target.quoted())
          + "::regclass) / current_setting('block_size')::bigint");
      sums.add(checksum(targetWorkers, "target checksum", p.target, pages, null));
    }
    for (int i = 0; i < same.size(); i++) {
      Plan p = same.get(i);
      p.sourceSum = join(p.sourceSumFuture);
      p.unchanged = join(sums.get(i)).equals(p.sourceSum);
    }
  }

  private static void printPlan(List<Plan> plans, Progress progress) {
    progress.say("");
    progress.say("Plan:");
    int i = 0;
    for (Plan p : plans) {
      String action = p.blocked != null ? "BLOCKED: " + p.blocked
          : p.unchanged ? "unchanged, would be skipped"
          : p.targetExists ? "would replace the target table" : "would create the target table";
      progress.step(++i, plans.size(), "%s: %s rows on the source; %s", p.target, Progress.rows(p.sourceSum.rows()),
          action);
      if (!p.unchanged && p.blocked == null) {
        for (String ddl : p.definition.createSql(p.staging)) {
          progress.say("    %s;", ddl.replace("\n", "\n    "));
        }
        for (String ddl : p.definition.indexSql(p.staging)) {
          progress.say("    %s;", ddl);
        }
      }
    }
  }

  private static void dropQuietly(Connection c, List<Plan> plans) {
    for (Plan p : plans) {
      try {
        if (!c.getAutoCommit()) {
          c.rollback();
        }
        Db.dropIfExists(c, p.staging);
      } catch (SQLException ignored) {
        // best effort: the next run drops leftovers before it starts
      }
    }
  }

  private static JdbcConfig config(String side, String url, String user, String passwordFile) {
    try {
      return JdbcConfig.fromOptions(url, user, passwordFile);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(e.getMessage().replace("--jdbcUrl", "--" + side + "Url")
          .replace("--passwordFile", "--" + side + "PasswordFile"));
    }
  }

  private static Connection connect(JdbcConfig config, String side) {
    try {
      return config.connect("warehouse-promote");
    } catch (SQLException e) {
      throw new WarehouseException(side + " database unreachable: " + e.getMessage() + "; nothing was changed", e);
    }
  }

  private static int categoryOrder(String category) {
    return "Dimension".equals(category) ? 0 : "Aggregate".equals(category) ? 1 : "Other".equals(category) ? 2 : 3;
  }

  static String category(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    if (n.startsWith("fact_")) {
      return "Fact";
    }
    if (n.startsWith("dim_")) {
      return "Dimension";
    }
    if (n.startsWith("agg_")) {
      return "Aggregate";
    }
    return "Other";
  }

  static List<Pattern> globs(String csv, String option) {
    List<Pattern> out = new ArrayList<>();
    if (csv == null) {
      return out;
    }
    for (String g : csv.split(",")) {
      String s = g.strip();
      if (!s.isEmpty()) {
        out.add(glob(s));
      }
    }
    if (out.isEmpty() && "--include".equals(option)) {
      throw new IllegalArgumentException("--include is empty: give table globs such as dim_*,agg_*");
    }
    return out;
  }

  static Pattern glob(String g) {
    StringBuilder re = new StringBuilder();
    for (char ch : g.toCharArray()) {
      if (ch == '*') {
        re.append(".*");
      } else if (ch == '?') {
        re.append('.');
      } else {
        re.append(Pattern.quote(String.valueOf(ch)));
      }
    }
    return Pattern.compile(re.toString());
  }

  private static boolean matchesAny(List<Pattern> globs, String name) {
    for (Pattern p : globs) {
      if (p.matcher(name).matches()) {
        return true;
      }
    }
    return false;
  }
}
