package org.warehouse.transforms.breezeway;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
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
    CopyIn copy = connection.unwrap(PGConnection.class).getCopyAPI()
        .copyIn("COPY " + ref.quoted() + " (" + Sql.quoteColumns(t.columns()) + ") FROM STDIN");
    StringBuilder buf = new StringBuilder(1 << 20);
    long[] n = {0};
    try {
      generator.generateChunk(t, tableChunk.getValue(), line -> {
        buf.append(line);
        n[0]++;
        if (buf.length() > (1 << 20) - 512) {
          write(copy, buf);
        }
      });
      write(copy, buf);
      copy.endCopy();
    } finally {
      if (copy.isActive()) {
        copy.cancelCopy();
      }
    }
    generated.inc(n[0]);
    out.output(n[0]);
  }

  private static void write(CopyIn copy, StringBuilder sb) {
    try {
      byte[] b = sb.toString().getBytes(StandardCharsets.UTF_8);
      copy.writeToCopy(b, 0, b.length);
      sb.setLength(0);
    } catch (SQLException e) {
      throw new RuntimeException(e);
    }
  }

  @Teardown
  public void teardown() throws SQLException {
    if (connection != null) {
      connection.close();
    }
  }
}
