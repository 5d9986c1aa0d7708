package org.warehouse.pipelines;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.warehouse.pipelines.common.BeamRun;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.childtables.ChildTable;
import org.warehouse.transforms.childtables.GenerateChildRowsFn;
import org.warehouse.transforms.childtables.SyntheticChildren;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * {@code generate --childScale=F}: (re)creates schema {@code breezeway} with the parent tables
 * (properties, tasks, reservations) and the six child tables full of duplicates (see {@link
 * ChildTable} for the profile; F=1 is 36.5M rows, ~70K unique keys). Chunks of 250,000 rows are
 * generated and COPYed in parallel; the primary keys are added afterwards.
 */
final class GenerateChildTables {
  private GenerateChildTables() {}

  static void run(PipelineOptions options, JdbcConfig db, long seed, double scale, RunReport report)
      throws Exception {
    if (!(scale > 0) || scale > 10) {
      throw new IllegalArgumentException("--childScale must be in (0, 10] (1 = 36.5M rows), got " + scale);
    }
    Progress progress = Progress.stdout();
    String schema = ChildTable.SCHEMA;
    SyntheticChildren generator = new SyntheticChildren(seed, scale);
    long started = System.nanoTime();
    long expected = 0;
    try (Connection c = db.connect("warehouse-generate-children")) {
      Db.execute(c, "DROP SCHEMA IF EXISTS " + Sql.quoteIdent(schema) + " CASCADE");
      Db.execute(c, "CREATE SCHEMA " + Sql.quoteIdent(schema));
      for (String parent : List.of("properties", "tasks", "reservations")) {
        String key = parent.equals("properties") ? "property_pk" : parent.equals("tasks") ? "task_pk" : "reservation_pk";
        TableRef p = TableRef.of(schema, parent);
        Db.execute(c, "CREATE TABLE " + p.quoted() + " (" + key + " bigint PRIMARY KEY, name text NOT NULL)");
        Db.execute(c, "INSERT INTO " + p.quoted() + " SELECT g, '" + parent + " ' || g FROM generate_series(1, "
            + SyntheticChildren.parents(parent, scale) + ") g");
      }
      List<KV<Integer, Integer>> chunks = new ArrayList<>();
      for (ChildTable t : ChildTable.values()) {
        Db.execute(c, t.createTableSql(TableRef.of(schema, t.tableName()).quoted()));
        expected += t.rows(scale);
        for (int i = 0; i < generator.chunks(t); i++) {
          chunks.add(KV.of(t.ordinal(), i));
        }
      }
      progress.say("generate: %s child rows (childScale %s, seed %d) into schema %s ...",
          Progress.rows(expected), scale, seed, schema);
      Pipeline p = Pipeline.create(options);
      p.apply("ChildChunks", Create.of(chunks))
          .apply("SpreadChildChunks", Reshuffle.viaRandomKey())
          .apply("GenerateAndCopyChildren", ParDo.of(new GenerateChildRowsFn(db, schema, generator)));
      PipelineResult result = BeamRun.run(p, report, "child-table generation did not finish; re-run generate --childScale");
      report.countersFrom(result);
      for (ChildTable t : ChildTable.values()) {
        TableRef ref = TableRef.of(schema, t.tableName());
        long rows = Db.countRows(c, ref);
        if (rows != t.rows(scale)) {
          throw new WarehouseException("generated " + rows + " rows in " + ref + ", expected " + t.rows(scale));
        }
        Db.execute(c, "ALTER TABLE " + ref.quoted() + " ADD CONSTRAINT " + Sql.quoteIdent(t.tableName() + "_pkey")
            + " PRIMARY KEY (id)");
        Db.execute(c, "SELECT setval(pg_get_serial_sequence(" + Sql.literal(ref.quoted()) + ", 'id'), "
            + Math.max(1, rows) + ")");
        Db.execute(c, "ANALYZE " + ref.quoted());
        report.table(ref.toString(), rows, "replaced");
      }
    }
    long nanos = System.nanoTime() - started;
    progress.say("generate: %s child rows in %s (%s rows/s)", Progress.rows(expected), Progress.seconds(nanos),
        Progress.rows((long) (expected / (nanos / 1e9))));
  }
}
