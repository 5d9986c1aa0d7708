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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
import org.warehouse.transforms.promote.ReadTableRanges;
import org.warehouse.transforms.promote.TableChecksum;
import org.warehouse.transforms.promote.TableRange;

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
    long pages;
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

    try (Connection src = connect(source, "source");
        Connection tgt = connect(target, "target")) {
      List<Plan> plans = select(src, schema, include, exclude, options, progress);
      readSource(source, src, plans);
      inspectTarget(target, tgt, plans, schema);
      if (options.getDryRun()) {
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
        return promote(options, report, progress, source, target, tgt, plans, schema, started);
      }
    }
  }

  private static PipelineResult promote(PromoteOptions options, RunReport report, Progress progress,
      JdbcConfig source, JdbcConfig target, Connection tgt, List<Plan> plans, String schema, long started)
      throws Exception {
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
        long rows = 0;
        for (Plan p : copy) {
          rows += p.sourceSum.rows();
        }
        List<TableRange> ranges = ranges(copy, options.getReadMode(), options.getRowsPerRange());
        progress.say("Copying %d tables (%s rows, %d ranges) in one pipeline...", copy.size(),
            Progress.rows(rows), ranges.size());
        long t0 = System.nanoTime();
        result = runPipeline(options, source, target, ranges);
        report.countersFrom(result);
        progress.say("Copied in %s; adding indexes and verifying...", Progress.seconds(System.nanoTime() - t0));
        parallel(copy, p -> {
          try (Connection c = target.connect("warehouse-promote-index")) {
            for (String ddl : p.definition.indexSql(p.staging)) {
              Db.execute(c, ddl);
            }
            Db.execute(c, "ANALYZE " + p.staging.quoted());
          }
          return null;
        });
        List<TableChecksum> sums = parallel(copy, p -> {
          try (Connection c = target.connect("warehouse-promote-verify")) {
            return TableChecksum.of(c, p.staging);
          }
        });
        for (int i = 0; i < copy.size(); i++) {
          Plan p = copy.get(i);
          if (!sums.get(i).equals(p.sourceSum)) {
            throw new WarehouseException("verification failed for table " + p.source + ": source has "
                + p.sourceSum + ", the copy has " + sums.get(i) + " (did the source change during the run? "
                + "re-run); production unchanged");
          }
        }
        progress.say("Verified %d tables: row counts and checksums equal on source and target", copy.size());
        List<TableSwap.Swap> swaps = new ArrayList<>();
        for (Plan p : copy) {
          swaps.add(new TableSwap.Swap(p.staging, p.target, p.definition.indexNames()));
        }
        how = TableSwap.publish(tgt, swaps, options.getLockTimeoutSeconds());
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
    report.detail("tablesCopied", copy.size()).detail("tablesUnchanged", plans.size() - copy.size())
        .detail("totalRows", total);
    return result;
  }

  static PipelineResult runPipeline(PromoteOptions options, JdbcConfig source, JdbcConfig target,
      List<TableRange> ranges) {
    Pipeline p = Pipeline.create(options);
    p.apply("TableRanges", Create.of(ranges).withCoder(TableRange.Coder.of()))
        .apply("SpreadRanges", Reshuffle.viaRandomKey())
        .apply("ReadFromSource", ReadTableRanges.from(source, options.getReadMode()))
        .apply("CopyIntoStagingTables", WriteByCopy.chunksTo(target));
    PipelineResult result = p.run();
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      throw new WarehouseException("the promote pipeline ended in state " + state + "; production unchanged");
    }
    return result;
  }

  /** Splits every table into ctid page ranges of about rowsPerRange rows; the last range is open. */
  static List<TableRange> ranges(List<Plan> plans, ReadTableRanges.Mode mode, int rowsPerRange) {
    List<TableRange> out = new ArrayList<>();
    for (Plan p : plans) {
      String cols = ReadTableRanges.selectList(mode, p.definition.copyColumns());
      String dest = p.staging.schema() + "." + p.staging.name();
      long rows = p.sourceSum.rows();
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
    try (PreparedStatement ps = src.prepareStatement(
        "SELECT k.relname FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
            + "WHERE n.nspname = ? AND k.relkind IN ('r', 'p') AND NOT k.relispartition ORDER BY k.relname")) {
      ps.setString(1, schema);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
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
        plans.add(new Plan(t, t, cat));
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

  /** Definitions, page counts and checksums of the selected source tables. */
  private static void readSource(JdbcConfig source, Connection src, List<Plan> plans) throws Exception {
    for (Plan p : plans) {
      p.definition = TableDefinition.read(src, p.source);
      p.pages = Db.queryLong(src, "SELECT pg_relation_size(" + Sql.literal(p.source.quoted())
          + "::regclass) / current_setting('block_size')::bigint");
    }
    List<TableChecksum> sums = parallel(plans, p -> {
      try (Connection c = source.connect("warehouse-promote-checksum")) {
        return TableChecksum.of(c, p.source);
      }
    });
    for (int i = 0; i < plans.size(); i++) {
      plans.get(i).sourceSum = sums.get(i);
    }
  }

  /** Which target tables exist, are unchanged (same columns and checksum), or block the swap. */
  private static void inspectTarget(JdbcConfig target, Connection tgt, List<Plan> plans, String schema)
      throws Exception {
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
    List<TableChecksum> sums = parallel(same, p -> {
      try (Connection c = target.connect("warehouse-promote-checksum")) {
        return TableChecksum.of(c, p.target);
      }
    });
    for (int i = 0; i < same.size(); i++) {
      same.get(i).unchanged = sums.get(i).equals(same.get(i).sourceSum);
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

  /** Runs one task per plan on up to 4 threads, each with its own connection; results in plan order. */
  private static <T> List<T> parallel(List<Plan> plans, PlanTask<T> task) throws Exception {
    List<T> out = new ArrayList<>();
    if (plans.isEmpty()) {
      return out;
    }
    ExecutorService pool = Executors.newFixedThreadPool(Math.min(4, plans.size()));
    try {
      List<Future<T>> futures = new ArrayList<>();
      for (Plan p : plans) {
        futures.add(pool.submit(() -> task.run(p)));
      }
      for (Future<T> f : futures) {
        try {
          out.add(f.get());
        } catch (ExecutionException e) {
          if (e.getCause() instanceof Exception) {
            throw (Exception) e.getCause();
          }
          throw e;
        }
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  @FunctionalInterface
  private interface PlanTask<T> {
    T run(Plan p) throws Exception;
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
