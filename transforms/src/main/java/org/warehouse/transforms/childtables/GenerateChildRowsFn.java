package org.warehouse.transforms.childtables;

import java.sql.Connection;
import java.sql.SQLException;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.warehouse.transforms.jdbc.CopyWriter;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/** Input: (table ordinal, chunk). Generates that chunk and COPYs it into {@code breezeway.<table>}. */
public class GenerateChildRowsFn extends DoFn<KV<Integer, Integer>, Long> {
  private static final long serialVersionUID = 1L;
  private final Counter generated = Metrics.counter(GenerateChildRowsFn.class, "childRowsGenerated");

  private final JdbcConfig config;
  private final String schema;
  private final SyntheticChildren generator;
  private transient Connection connection;

  public GenerateChildRowsFn(JdbcConfig config, String schema, SyntheticChildren generator) {
    this.config = config;
    this.schema = schema;
    this.generator = generator;
  }

  @Setup
  public void setup() throws SQLException {
    connection = config.connect("warehouse-generate-children");
  }

  @ProcessElement
  public void process(@Element KV<Integer, Integer> tableChunk, OutputReceiver<Long> out) throws Exception {
    ChildTable t = ChildTable.values()[tableChunk.getKey()];
    TableRef ref = TableRef.of(schema, t.tableName());
    long n;
    try (CopyWriter copy = CopyWriter.open(connection,
        "COPY " + ref.quoted() + " (" + Sql.quoteColumns(t.columns()) + ") FROM STDIN")) {
      generator.generateChunk(t, tableChunk.getValue(), line -> {
        copy.buffer().append(line);
        copy.lineAdded();
      });
      n = copy.finish();
    }
    generated.inc(n);
    out.output(n);
  }

  @Teardown
  public void teardown() {
    Db.closeQuietly(connection);
  }
}
