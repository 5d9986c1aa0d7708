package org.warehouse.pipelines;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.births.Dimensions;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.jdbc.WriteByCopy;
import org.warehouse.transforms.reference.ParseReferenceCsv;

/**
 * load-reference: the IBGE region, state and municipality dimensions from the project's reference
 * CSVs (derived from shared/data/ibge; MIT licence in reference/LICENSE-ibge), parsed with Commons
 * CSV in the pipeline and COPYed into staging tables that replace the dimensions in one transaction.
 * Idempotent: a re-run publishes identical tables.
 */
public final class LoadReferencePipeline {
  /** Options of {@code scripts/run load-reference}. */
  public interface LoadReferenceOptions extends WarehouseOptions {
    @Description("Directory with ibge_regions.csv, ibge_states.csv and ibge_municipalities.csv "
        + "(default: the copies bundled in the jar)")
    String getReferenceDir();

    void setReferenceDir(String value);
  }

  /** A dimension table: its CSV file, DDL and keys. */
  static final class Dim {
    final String file;
    final String table;
    final List<String> columns;
    final String columnDdl;
    final String keys;

    Dim(String file, String table, List<String> columns, String columnDdl, String keys) {
      this.file = file;
      this.table = table;
      this.columns = columns;
      this.columnDdl = columnDdl;
      this.keys = keys;
    }
  }

  static final List<Dim> DIMS = List.of(
      new Dim("ibge_regions.csv", Dimensions.REGIONS, Dimensions.REGION_COLUMNS,
          "region_code smallint NOT NULL, region_name text NOT NULL", "PRIMARY KEY (region_code)"),
      new Dim("ibge_states.csv", Dimensions.STATES, Dimensions.STATE_COLUMNS,
          "state_code smallint NOT NULL, state_abbr text NOT NULL, state_name text NOT NULL, region_code smallint NOT NULL",
          "PRIMARY KEY (state_code)"),
      new Dim("ibge_municipalities.csv", Dimensions.MUNICIPALITIES, Dimensions.MUNICIPALITY_COLUMNS,
          "municipality_code integer NOT NULL, municipality_code6 integer NOT NULL, "
              + "municipality_name text NOT NULL, state_code smallint NOT NULL",
          "PRIMARY KEY (municipality_code)"));

  private LoadReferencePipeline() {}

  public static PipelineResult run(LoadReferenceOptions options) throws Exception {
    return run(options, new RunReport(PIPELINE));
  }

  public static PipelineResult run(LoadReferenceOptions options, RunReport report) throws Exception {
    Progress progress = Progress.stdout();
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    String schema = options.getSchema();
    Map<String, String> contents = readFiles(options.getReferenceDir());
    try (PipelineLock lock = PipelineLock.acquire(db, PIPELINE);
        Connection c = db.connect("warehouse-load-reference")) {
      String runId = Staging.runId();
      Map<String, KV<String, List<String>>> specs = new HashMap<>();
      List<TableSwap.Swap> swaps = new ArrayList<>();
      List<TableRef> staged = new ArrayList<>();
      report.onCancel("drop staging", () -> Staging.dropQuietly(db, PIPELINE, staged));
      for (Dim d : DIMS) {
        TableRef target = TableRef.of(schema, d.table);
        Staging.dropLeftovers(c, Staging.leftovers(c, target, STAGING_KIND), progress, PIPELINE);
        TableRef staging = Staging.name(target, STAGING_KIND, runId);
        staged.add(staging);
        Db.execute(c, "CREATE TABLE " + staging.quoted() + " (" + d.columnDdl + ")");
        specs.put(d.file, KV.of(staging.toString(), d.columns));
        swaps.add(new TableSwap.Swap(staging, target));
      }
      PipelineResult result;
      try {
        // inside the try: a runner that rejects the options (e.g. Dataflow without --project) must not
        // leave the staging tables behind
        Pipeline p = Pipeline.create(options);
        List<KV<String, String>> files = new ArrayList<>();
        contents.forEach((k, v) -> files.add(KV.of(k, v)));
        p.apply("ReferenceFiles", Create.of(files).withCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of())))
            .apply("ParseWithCommonsCsv", ParDo.of(new ParseReferenceCsv(specs)))
            .apply("CopyIntoStagingTables", WriteByCopy.to(db));
        result = BeamRun.run(p, report, "dimensions unchanged");
        for (int i = 0; i < DIMS.size(); i++) {
          TableRef staging = staged.get(i);
          Db.execute(c, "ALTER TABLE " + staging.quoted() + " ADD CONSTRAINT "
              + Sql.quoteIdent(staging.name() + "_pkey") + " " + DIMS.get(i).keys);
        }
        // named after the staging table, so the swap renames it to <dimension>_code6_key
        Db.execute(c, "CREATE UNIQUE INDEX " + Sql.quoteIdent(staged.get(2).name() + "_code6_key") + " ON "
            + staged.get(2).quoted() + " (municipality_code6)");
        TableSwap.publish(c, swaps, 60, lock);
      } catch (Exception | Error e) {
        Staging.dropQuietly(db, PIPELINE, staged);
        throw e;
      }
      report.countersFrom(result);
      for (int i = 0; i < DIMS.size(); i++) {
        TableRef t = TableRef.of(schema, DIMS.get(i).table);
        long rows = Db.countRows(c, t);
        progress.step(i + 1, DIMS.size(), "%-28s %8s rows", t, Progress.rows(rows));
        report.table(t.toString(), rows, "replaced");
      }
      return result;
    }
  }

  static final String PIPELINE = "load-reference";
  /** What the staging tables' names carry after the dimension's: {@code dim_ibge_id_states__staging_<run>}. */
  static final String STAGING_KIND = "staging";

  /** File name → content, from --referenceDir or from the jar's bundled copies. */
  static Map<String, String> readFiles(String dir) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    for (Dim d : DIMS) {
      if (dir != null && !dir.isBlank()) {
        Path f = Path.of(dir, d.file);
        if (!Files.isReadable(f)) {
          throw new WarehouseException("reference file " + f + " is missing or unreadable (--referenceDir)");
        }
        out.put(d.file, Files.readString(f, StandardCharsets.UTF_8));
      } else {
        try (InputStream in = LoadReferencePipeline.class.getResourceAsStream("/reference/" + d.file)) {
          if (in == null) {
            throw new WarehouseException("reference file " + d.file + " is not bundled in the jar; pass --referenceDir");
          }
          out.put(d.file, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
      }
    }
    return out;
  }
}
