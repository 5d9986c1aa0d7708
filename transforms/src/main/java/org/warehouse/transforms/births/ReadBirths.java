package org.warehouse.transforms.births;

import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.PgDataSourceProvider;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Reads the fact table in parallel: {@code JdbcIO.readWithPartitions} splits {@code birth_id}
 * [lower, upper] into ranges, each read by its own query and connection.
 */
public class ReadBirths extends PTransform<PBegin, PCollection<BirthRecord>> {
  private static final long serialVersionUID = 1L;

  private final JdbcConfig config;
  private final TableRef table;
  private final int partitions;
  private final long lowerBound;
  private final long upperBound;

  private ReadBirths(JdbcConfig config, TableRef table, int partitions, long lowerBound, long upperBound) {
    this.config = config;
    this.table = table;
    this.partitions = partitions;
    this.lowerBound = lowerBound;
    this.upperBound = upperBound;
  }

  /** Reads birth_id in [lowerBound, upperBound] (both inclusive) in {@code partitions} ranges. */
  public static ReadBirths from(JdbcConfig config, TableRef table, int partitions, long lowerBound, long upperBound) {
    return new ReadBirths(config, table, partitions, lowerBound, upperBound);
  }

  /** JdbcIO's partitioned read selects *: project the columns the mapper reads, in its order. */
  static String projection(TableRef table) {
    return "(SELECT " + String.join(", ", FactBirths.COLUMNS) + " FROM " + table.quoted() + ") AS f";
  }

  @Override
  public PCollection<BirthRecord> expand(PBegin input) {
    return input.apply(
        "ReadWithPartitions",
        JdbcIO.<BirthRecord>readWithPartitions()
            .withDataSourceProviderFn(new PgDataSourceProvider(config, "warehouse-aggregate-read"))
            .withTable(projection(table))
            .withPartitionColumn("birth_id")
            .withLowerBound(lowerBound)
            .withUpperBound(upperBound + 1)
            .withNumPartitions(partitions)
            .withFetchSize(20_000)
            .withRowMapper(new BirthRecordMapper())
            .withCoder(BirthRecord.RecordCoder.of()));
  }
}
