package org.warehouse.transforms.dedupe;

import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.PgDataSourceProvider;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Reads (id, latest, natural key) of every row with {@code id} in [minId, snapshotMaxId] in parallel
 * id ranges (JdbcIO.readWithPartitions), as (encoded key, {@link Candidate}). Payload columns are not
 * read: only what the survivor rule needs crosses the wire.
 */
public class ReadKeyCandidates extends PTransform<PBegin, PCollection<KV<String, Candidate>>> {
  private static final long serialVersionUID = 1L;

  private final JdbcConfig config;
  private final int tableIndex;
  private final TableRef table;
  private final List<String> naturalKey;
  private final String latestColumn;
  private final long minId;
  private final long snapshotMaxId;
  private final int partitions;
  private final boolean partialInDatabase;

  public ReadKeyCandidates(JdbcConfig config, int tableIndex, TableRef table, List<String> naturalKey,
      String latestColumn, long minId, long snapshotMaxId, int partitions) {
    this(config, tableIndex, table, naturalKey, latestColumn, minId, snapshotMaxId, partitions, false);
  }

  /**
   * @param partialInDatabase each id range is first reduced in PostgreSQL to one (key, group size,
   *     best (latest, id)) row per key — the combiner step, done where the rows are — and the pipeline
   *     combines those partial results across ranges with the same rule. Moves ~rows/keys times fewer
   *     rows out of the database; the survivor is the same.
   */
  public ReadKeyCandidates(JdbcConfig config, int tableIndex, TableRef table, List<String> naturalKey,
      String latestColumn, long minId, long snapshotMaxId, int partitions, boolean partialInDatabase) {
    this.config = config;
    this.tableIndex = tableIndex;
    this.table = table;
    this.naturalKey = List.copyOf(naturalKey);
    this.latestColumn = latestColumn;
    this.minId = minId;
    this.snapshotMaxId = snapshotMaxId;
    this.partitions = partitions;
    this.partialInDatabase = partialInDatabase;
  }

  /**
   * Per id range [?, ?): one row per natural key: key columns as text, the group size, and
   * max(ARRAY[latest µs (NULL → Long.MAX, as NULL sorts first in DESC), id]) — the range's survivor.
   * Rows with a NULL key column each form their own group (grouped by their id too).
   */
  public static String partialQuery(TableRef table, List<String> naturalKey, String latestColumn) {
    // Group on the columns' own types (hashing bigints is ~2x cheaper than their text); text only out.
    StringBuilder out = new StringBuilder("SELECT ");
    StringBuilder group = new StringBuilder();
    StringBuilder anyNull = new StringBuilder();
    for (int i = 0; i < naturalKey.size(); i++) {
      String k = Sql.quoteIdent(naturalKey.get(i));
      out.append(k).append("::text AS k").append(i).append(", ");
      group.append(k).append(", ");
      anyNull.append(i == 0 ? "" : " OR ").append(k).append(" IS NULL");
    }
    return out + "count(*) AS n, max(ARRAY[coalesce((extract(epoch FROM " + Sql.quoteIdent(latestColumn)
        + ") * 1000000)::bigint, 9223372036854775807), id]) AS best FROM " + table.quoted()
        + " WHERE id >= ? AND id < ? GROUP BY " + group + "CASE WHEN " + anyNull + " THEN id END";
  }

  /** JdbcIO's partitioned read selects *: project exactly what the mapper reads, in its order. */
  public static String projection(TableRef table, List<String> naturalKey, String latestColumn, long snapshotMaxId) {
    StringBuilder sb = new StringBuilder("(SELECT id, (extract(epoch FROM ")
        .append(Sql.quoteIdent(latestColumn)).append(") * 1000000)::bigint AS latest_us");
    for (int i = 0; i < naturalKey.size(); i++) {
      sb.append(", ").append(Sql.quoteIdent(naturalKey.get(i))).append("::text AS k").append(i);
    }
    return sb.append(" FROM ").append(table.quoted()).append(" WHERE id <= ").append(snapshotMaxId)
        .append(") AS t").toString();
  }

  @Override
  public PCollection<KV<String, Candidate>> expand(PBegin input) {
    int n = (int) Math.max(1, Math.min(partitions, (snapshotMaxId - minId + 1) / 1000 + 1));
    if (partialInDatabase) {
      List<KV<Long, Long>> ranges = new java.util.ArrayList<>();
      long span = snapshotMaxId - minId + 1;
      for (int i = 0; i < n; i++) {
        long from = minId + span * i / n;
        long to = minId + span * (i + 1) / n;
        ranges.add(KV.of(from, to));
      }
      return input
          .apply("IdRanges", org.apache.beam.sdk.transforms.Create.of(ranges))
          .apply("SpreadRanges", org.apache.beam.sdk.transforms.Reshuffle.viaRandomKey())
          .apply("ReadPartialPerRange", JdbcIO.<KV<Long, Long>, KV<String, Candidate>>readAll()
              .withDataSourceProviderFn(new PgDataSourceProvider(config, "warehouse-dedupe-read"))
              .withQuery(partialQuery(table, naturalKey, latestColumn))
              .withParameterSetter(new RangeQuery())
              .withRowMapper(new PartialCandidateMapper(tableIndex, table.toString(), naturalKey.size()))
              .withFetchSize(20_000)
              .withOutputParallelization(false)
              .withCoder(KvCoder.of(StringUtf8Coder.of(), Candidate.CandidateCoder.of())));
    }
    return input.apply(
        "ReadWithPartitions",
        JdbcIO.<KV<String, Candidate>>readWithPartitions()
            .withDataSourceProviderFn(new PgDataSourceProvider(config, "warehouse-dedupe-read"))
            .withTable(projection(table, naturalKey, latestColumn, snapshotMaxId))
            .withPartitionColumn("id")
            .withLowerBound(minId)
            .withUpperBound(snapshotMaxId + 1)
            .withNumPartitions(n)
            .withFetchSize(20_000)
            .withRowMapper(new KeyCandidateMapper(tableIndex, table.toString(), naturalKey.size()))
            .withCoder(KvCoder.of(StringUtf8Coder.of(), Candidate.CandidateCoder.of())));
  }
}
