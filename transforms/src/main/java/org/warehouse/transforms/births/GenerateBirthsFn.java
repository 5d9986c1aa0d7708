package org.warehouse.transforms.births;

import java.sql.Connection;
import java.time.LocalDate;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.warehouse.transforms.jdbc.CopyWriter;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.TableRef;

/** Generates one chunk of synthetic births per input element and COPYs it into the fact table. */
public class GenerateBirthsFn extends DoFn<Integer, Long> {
  private static final long serialVersionUID = 1L;
  private final Counter generated = Metrics.counter(GenerateBirthsFn.class, "birthsGenerated");

  private final JdbcConfig config;
  private final TableRef table;
  private final SyntheticBirths generator;
  private final long births;
  private transient Connection connection;

  public GenerateBirthsFn(JdbcConfig config, TableRef table, SyntheticBirths generator, long births) {
    this.config = config;
    this.table = table;
    this.generator = generator;
    this.births = births;
  }

  @Setup
  public void setup() throws Exception {
    connection = config.connect("warehouse-generate");
  }

  @ProcessElement
  public void process(@Element Integer chunk, OutputReceiver<Long> out) throws Exception {
    long n;
    try (CopyWriter copy = CopyWriter.open(connection, "COPY " + table.quoted() + " FROM STDIN")) {
      generator.generateChunk(chunk, births, row -> {
        appendLine(copy.buffer(), row);
        copy.lineAdded();
      });
      n = copy.finish();
    }
    generated.inc(n);
    out.output(n);
  }

  static void appendLine(StringBuilder sb, SyntheticBirths.Row r) {
    sb.append(r.birthId).append('\t').append(LocalDate.ofEpochDay(r.epochDay)).append('\t');
    field(sb, r.municipalityCode6).append('\t');
    field(sb, r.cnesCode).append('\t');
    field(sb, r.sex).append('\t');
    field(sb, r.birthWeightG).append('\t');
    field(sb, r.gestationalWeeks).append('\t');
    field(sb, r.motherAge).append('\t');
    field(sb, r.deliveryType).append('\t');
    field(sb, r.prenatalVisits).append('\t');
    field(sb, r.gestationCategory).append('\t');
    field(sb, r.prenatalCategory).append('\n');
  }

  private static StringBuilder field(StringBuilder sb, int v) {
    return v == BirthRecord.NULL ? sb.append("\\N") : sb.append(v);
  }

  @Teardown
  public void teardown() {
    Db.closeQuietly(connection);
  }
}
