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
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.births.Dimensions;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
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
    return run(options, new RunReport("load-reference"));
  }

  public static PipelineResult run(LoadReferenceOptions options, RunReport report) throws Exception {
    Progress progress = Progress.stdout();
    JdbcConfig db = WarehouseOptions.jdbcConfig(options);
    String schema = options.getSchema();
    Map<String, String> contents = readFiles(options.getReferenceDir());
    try (PipelineLock lock = PipelineLock.acquire(db, "load-reference");
        Connection c = db.connect("warehouse-load-reference")) {
      Map<String, KV<String, List<String>>> specs = new HashMap<>();
      List<TableSwap.Swap> swaps = new ArrayList<>();
      for (Dim d : DIMS) {
        TableRef target = TableRef.of(schema, d.table);
        TableRef staging = target.withSuffix("__staging");
        Db.dropIfExists(c, staging);
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
        result = p.run();
        if (result.waitUntilFinish() != PipelineResult.State.DONE) {
          throw new WarehouseException("load-reference pipeline did not finish; dimensions unchanged");
        }
        for (int i = 0; i < DIMS.size(); i++) {
          Dim d = DIMS.get(i);
          TableRef staging = swaps.get(i).stagingRef();
          Db.execute(c, "ALTER TABLE " + staging.quoted() + " ADD CONSTRAINT "
              + org.warehouse.transforms.jdbc.Sql.quoteIdent(staging.name() + "_pkey") + " " + d.keys);
        }
        Db.execute(c, "CREATE UNIQUE INDEX " + org.warehouse.transforms.jdbc.Sql.quoteIdent(
            Dimensions.MUNICIPALITIES + "__staging_code6_key") + " ON "
            + swaps.get(2).stagingRef().quoted() + " (municipality_code6)");
        TableSwap.publish(c, swaps, 60);
      } catch (Exception | Error e) {
        for (TableSwap.Swap s : swaps) {
          try {
            Db.dropIfExists(c, s.stagingRef());
          } catch (Exception ignored) {
            // best effort; the next run drops it first
          }
        }
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
