package org.warehouse.pipelines;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.births.AggregateBirths;
import org.warehouse.transforms.births.Dimensions;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.births.FormatAggregates;
import org.warehouse.transforms.births.ReadBirths;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.jdbc.WriteByCopy;

/**
 * aggregate: reads fact_births once, in parallel, and writes every agg_* table.
 *
 * <ol>
 *   <li>Check the fact and dimension tables (exist, have the columns, fact not empty).
 *   <li>Create one staging table per aggregate.
 *   <li>Beam: read dimensions (side inputs) and fact ranges → aggregate every grain → COPY into staging.
 *   <li>Verify: totals reconcile with the fact table's row count; add primary keys.
 *   <li>Publish every staging table in ONE transaction ({@link TableSwap}). Any failure before that
 *       drops the staging tables and leaves every existing agg table as it was.
 * </ol>
 */
public final class AggregatePipeline {
  private static final Logger LOG = LoggerFactory.getLogger(AggregatePipeline.class);
  static final String STAGING_SUFFIX = "__staging";

  /** Options of {@code scripts/run aggregate}. */
  public interface AggregateOptions extends WarehouseOptions {
    @Description("Fact table to aggregate ([schema.]table)")
    @Default.String(FactBirths.DEFAULT_TABLE)
    String getFactTable();

    void setFactTable(String value);

    @Description("Number of birth_id ranges read in parallel, each on its own connection (0 = 4 x cores)")
    @Default.Integer(0)
    int getPartitions();

    void setPartitions(int value);

    @Description("Publish empty agg tables when the fact table is empty (default: refuse and exit 1)")
    @Default.Boolean(false)
    boolean getAllowEmpty();

    void setAllowEmpty(boolean value);

    @Description("Seconds to wait for dashboard queries to release the agg tables at swap time")
    @Default.Integer(60)
    int getLockTimeoutSeconds();

    void setLockTimeoutSeconds(int value);
  }

  private AggregatePipeline() {}

  /** Test seam: runs the whole job (checks, pipeline, verification, swap). */
  public static PipelineResult run(AggregateOptions options) throws Exception {
    return run(options, new RunReport("aggregate"));
  }

  public static PipelineResult run(AggregateOptions options, RunReport report) throws Exception {
    Progress progress = Progress.stdout();
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    String schema = options.getSchema();
    TableRef fact = TableRef.parse(options.getFactTable(), schema);
    Map<AggTable, TableRef> targets = new EnumMap<>(AggTable.class);
    Map<AggTable, TableRef> staging = new EnumMap<>(AggTable.class);
    for (AggTable t : AggTable.values()) {
      targets.put(t, TableRef.of(schema, t.tableName()));
      staging.put(t, TableRef.of(schema, t.tableName() + STAGING_SUFFIX));
    }
    long started = System.nanoTime();
    try (PipelineLock lock = PipelineLock.acquire(db, "aggregate");
        Connection c = db.connect("warehouse-aggregate")) {
      FactStats stats = checkInputs(c, fact, schema, options.getAllowEmpty());
      progress.say("aggregate: %s has %s rows (birth_id %d..%d); %d tables to build",
          fact, Progress.rows(stats.rows), stats.minId, stats.maxId, targets.size());
      createStaging(c, staging);
      PipelineResult result;
      long checked = System.nanoTime();
      try {
        result = stats.rows == 0 ? null : runPipeline(options, db, schema, fact, stats, staging);
        if (result != null) {
          report.countersFrom(result);
        }
        long piped = System.nanoTime();
        reconcile(c, staging, stats, schema);
        for (AggTable t : AggTable.values()) {
          Db.execute(c, t.primaryKeySql(staging.get(t)));
        }
        long verified = System.nanoTime();
        report.detail("checkSeconds", (checked - started) / 1e9).detail("pipelineSeconds", (piped - checked) / 1e9)
            .detail("verifySeconds", (verified - piped) / 1e9);
        LOG.info("checks {}, pipeline {}, reconcile + keys {}", Progress.seconds(checked - started),
            Progress.seconds(piped - checked), Progress.seconds(verified - piped));
        List<TableSwap.Swap> swaps = new ArrayList<>();
        for (AggTable t : AggTable.values()) {
          swaps.add(new TableSwap.Swap(staging.get(t), targets.get(t)));
        }
        List<String> how = TableSwap.publish(c, swaps, options.getLockTimeoutSeconds());
        int i = 0;
        for (AggTable t : AggTable.values()) {
          TableRef target = targets.get(t);
          Db.execute(c, "ANALYZE " + target.quoted());
          long rows = Db.countRows(c, target);
          String action = how.get(i).substring(how.get(i).indexOf(": ") + 2);
          progress.step(++i, targets.size(), "%-28s %10s rows  %s", target, Progress.rows(rows), action);
          report.table(target.toString(), rows, action);
        }
      } catch (Exception | Error e) {
        dropQuietly(c, staging);
        throw e;
      }
      long unmatched = Db.queryLong(c, "SELECT coalesce(sum(total_births), 0) FROM "
          + targets.get(AggTable.UNMATCHED_MUNICIPALITY).quoted());
      report.detail("factRows", stats.rows).detail("unmatchedMunicipalityBirths", unmatched);
      progress.say("aggregate: done in %s; %s births, %s with a residence code no municipality has "
              + "(listed in %s)", Progress.seconds(System.nanoTime() - started), Progress.rows(stats.rows),
          Progress.rows(unmatched), targets.get(AggTable.UNMATCHED_MUNICIPALITY));
      return result;
    }
  }

  static PipelineResult runPipeline(AggregateOptions options, JdbcConfig db, String schema, TableRef fact,
      FactStats stats, Map<AggTable, TableRef> staging) {
    int partitions = options.getPartitions() > 0
        ? options.getPartitions()
        : Math.max(4, 4 * Runtime.getRuntime().availableProcessors());
    Pipeline p = Pipeline.create(options);
    Dimensions.Views dims = Dimensions.read(p.begin(), db, schema);
    PCollection<KV<String, Long>> written =
        p.apply("ReadFactBirths", ReadBirths.from(db, fact, partitions, stats.minId, stats.maxId))
            .apply("AggregateEveryGrain", AggregateBirths.with(dims))
            .apply("FormatRowsWithNames", FormatAggregates.into(staging, dims))
            .apply("CopyIntoStagingTables", WriteByCopy.to(db));
    PipelineResult result = p.run();
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      throw new WarehouseException("the aggregate pipeline ended in state " + state + "; agg tables unchanged");
    }
    return result;
  }

  /** Row count and birth_id range of the fact table, after checking every input exists. */
  static FactStats checkInputs(Connection c, TableRef fact, String schema, boolean allowEmpty) throws SQLException {
    Db.requireColumns(c, fact, FactBirths.COLUMNS,
        "create it with `scripts/run generate` or `scripts/run ingest`, or name another with --factTable");
    String loadHint = "load the dimensions with `scripts/run load-reference` first";
    Db.requireColumns(c, TableRef.of(schema, Dimensions.REGIONS), Dimensions.REGION_COLUMNS, loadHint);
    Db.requireColumns(c, TableRef.of(schema, Dimensions.STATES), Dimensions.STATE_COLUMNS, loadHint);
    Db.requireColumns(c, TableRef.of(schema, Dimensions.MUNICIPALITIES), Dimensions.MUNICIPALITY_COLUMNS, loadHint);
    if (Db.countRows(c, TableRef.of(schema, Dimensions.MUNICIPALITIES)) == 0) {
      throw new WarehouseException("table " + TableRef.of(schema, Dimensions.MUNICIPALITIES) + " is empty: " + loadHint);
    }
    FactStats s = new FactStats();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*), count(cnes_code), coalesce(min(birth_id), 0), "
            + "coalesce(max(birth_id), 0) FROM " + fact.quoted())) {
      rs.next();
      s.rows = rs.getLong(1);
      s.rowsWithCnes = rs.getLong(2);
      s.minId = rs.getLong(3);
      s.maxId = rs.getLong(4);
    }
    if (s.rows == 0 && !allowEmpty) {
      throw new WarehouseException("table " + fact + " is empty: refusing to replace the agg tables with empty ones "
          + "(load births first, or pass --allowEmpty=true to publish empty agg tables)");
    }
    return s;
  }

  private static void createStaging(Connection c, Map<AggTable, TableRef> staging) throws SQLException {
    for (Map.Entry<AggTable, TableRef> e : staging.entrySet()) {
      Db.dropIfExists(c, e.getValue());
      Db.execute(c, e.getKey().createTableSql(e.getValue()));
    }
  }

  /**
   * Every table's total_births must add up to the fact rows it covers: national = all rows;
   * municipality + unmatched = all rows; region = state = all rows but those whose code names no
   * state; CNES = rows with a CNES code. A mismatch (e.g. the fact table changed mid-run) fails.
   */
  static void reconcile(Connection c, Map<AggTable, TableRef> staging, FactStats stats, String schema)
      throws SQLException {
    TableRef unmatched = staging.get(AggTable.UNMATCHED_MUNICIPALITY);
    long unmatchedAll = sumTotal(c, unmatched);
    long noState = Db.queryLong(c, "SELECT coalesce(sum(total_births), 0) FROM " + unmatched.quoted()
        + " u WHERE u.code6 < 100000 OR u.code6 > 999999 OR NOT EXISTS (SELECT 1 FROM "
        + TableRef.of(schema, Dimensions.STATES).quoted() + " s WHERE s.state_code = u.code6 / 10000)");
    for (AggTable t : AggTable.values()) {
      long expected;
      switch (t.geo()) {
        case NATIONAL: expected = stats.rows; break;
        case REGION: case STATE: expected = stats.rows - noState; break;
        case MUNICIPALITY: expected = stats.rows - unmatchedAll; break;
        case CNES: expected = stats.rowsWithCnes; break;
        default: continue;
      }
      long actual = sumTotal(c, staging.get(t));
      if (actual != expected) {
        throw new WarehouseException("reconciliation failed for " + t.tableName() + ": total_births sums to "
            + actual + " but the fact table has " + expected + " matching rows (did the fact table change "
            + "during the run? re-run); agg tables unchanged");
      }
    }
  }

  private static long sumTotal(Connection c, TableRef t) throws SQLException {
    return Db.queryLong(c, "SELECT coalesce(sum(total_births), 0) FROM " + t.quoted());
  }

  private static void dropQuietly(Connection c, Map<AggTable, TableRef> staging) {
    for (TableRef t : staging.values()) {
      try {
        if (!c.getAutoCommit()) {
          c.rollback();
        }
        Db.dropIfExists(c, t);
      } catch (SQLException ignored) {
        // best effort: the next run drops leftovers before it starts
      }
    }
  }

  /** What the preflight learned about the fact table. */
  static final class FactStats {
    long rows;
    long rowsWithCnes;
    long minId;
    long maxId;
  }
}
