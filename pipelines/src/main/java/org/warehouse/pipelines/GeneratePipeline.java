package org.warehouse.pipelines;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.SyntheticDataOptions;
import org.warehouse.pipelines.common.Validate;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.births.Dimensions;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.births.GenerateBirthsFn;
import org.warehouse.transforms.births.SyntheticBirths;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * generate: writes a deterministic SINASC-like fact table (see {@link SyntheticBirths} for the
 * profile). Chunks of 250,000 rows are generated and COPYed in parallel into a staging table, which
 * then replaces the fact table in one transaction.
 */
public final class GeneratePipeline {
  /** Options of {@code scripts/run generate}. */
  public interface GenerateOptions extends WarehouseOptions, SyntheticDataOptions {
    @Description("Fact table to (re)create ([schema.]table)")
    @Default.String(FactBirths.DEFAULT_TABLE)
    String getFactTable();

    void setFactTable(String value);

    @Description("Also (re)create schema breezeway with duplicated child tables at this scale (1 = 36.5M rows; 0 = no)")
    @Default.Double(0)
    double getChildScale();

    void setChildScale(double value);
  }

  private GeneratePipeline() {}

  public static PipelineResult run(GenerateOptions options) throws Exception {
    return run(options, new RunReport("generate"));
  }

  public static PipelineResult run(GenerateOptions options, RunReport report) throws Exception {
    Validate.atLeast("births", options.getBirths(), 0);
    Progress progress = Progress.stdout();
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    TableRef fact = TableRef.parse(options.getFactTable(), options.getSchema());
    if (options.getChildScale() != 0) {
      GenerateChildTables.run(options, db, options.getSeed(), options.getChildScale(), report);
    }
    if (options.getBirths() == 0) {
      return null;
    }
    try (PipelineLock lock = PipelineLock.acquire(db, "generate");
        Connection c = db.connect("warehouse-generate")) {
      int[] code6s = municipalityCodes(c, TableRef.of(options.getSchema(), Dimensions.MUNICIPALITIES));
      Staging.dropLeftovers(c, Staging.leftovers(c, fact, STAGING_KIND), progress, "generate");
      TableRef staging = Staging.name(fact, STAGING_KIND, Staging.runId());
      report.onCancel("drop staging", () -> Staging.dropQuietly(db, "generate", List.of(staging)));
      Db.execute(c, FactBirths.createTableSql(staging));
      long started = System.nanoTime();
      progress.say("generate: %s births (seed %d) into %s ...", Progress.rows(options.getBirths()),
          options.getSeed(), fact);
      PipelineResult result;
      try {
        SyntheticBirths generator = new SyntheticBirths(code6s, options.getSeed());
        List<Integer> chunks = new ArrayList<>();
        IntStream.range(0, SyntheticBirths.chunks(options.getBirths())).forEach(chunks::add);
        Pipeline p = Pipeline.create(options);
        p.apply("Chunks", Create.of(chunks))
            .apply("SpreadOverWorkers", Reshuffle.viaRandomKey())
            .apply("GenerateAndCopy", ParDo.of(new GenerateBirthsFn(db, staging, generator, options.getBirths())));
        result = BeamRun.run(p, report, fact + " unchanged");
        long rows = Db.countRows(c, staging);
        if (rows != options.getBirths()) {
          throw new WarehouseException("generated " + rows + " rows, expected " + options.getBirths());
        }
        Db.execute(c, "ALTER TABLE " + staging.quoted() + " ADD CONSTRAINT "
            + Sql.quoteIdent(staging.name() + "_pkey") + " PRIMARY KEY (birth_id)");
        Db.execute(c, FactBirths.commentSql(staging));
        TableSwap.publish(c, List.of(new TableSwap.Swap(staging, fact)), 60, lock);
        Db.execute(c, "ANALYZE " + fact.quoted());
      } catch (Exception | Error e) {
        Staging.dropQuietly(db, "generate", List.of(staging));
        throw e;
      }
      long nanos = System.nanoTime() - started;
      report.countersFrom(result).table(fact.toString(), options.getBirths(), "replaced");
      progress.say("generate: %s rows in %s (%s rows/s)", Progress.rows(options.getBirths()), Progress.seconds(nanos),
          Progress.rows((long) (options.getBirths() / (nanos / 1e9))));
      return result;
    }
  }

  /** What the staging table's name carries after the fact table's: {@code fact_births__staging_<run>}. */
  static final String STAGING_KIND = "staging";

  static int[] municipalityCodes(Connection c, TableRef municipalities) throws Exception {
    Db.requireColumns(c, municipalities, Dimensions.MUNICIPALITY_COLUMNS,
        "load the dimensions with `scripts/run load-reference` first");
    List<Integer> codes = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT municipality_code6 FROM " + municipalities.quoted()
            + " ORDER BY municipality_code6")) {
      while (rs.next()) {
        codes.add(rs.getInt(1));
      }
    }
    if (codes.isEmpty()) {
      throw new WarehouseException(municipalities + " is empty: run `scripts/run load-reference` first");
    }
    return codes.stream().mapToInt(Integer::intValue).toArray();
  }
}
