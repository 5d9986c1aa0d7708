package org.warehouse.transforms.dedupe;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollection;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Reads (id, latest, natural key) of every row with {@code id} in [minId, snapshotMaxId] in parallel
 * id ranges, as (encoded key, {@link Candidate}). Payload columns are not read: only what the survivor
 * rule needs crosses the wire. With {@link #inSnapshot} every range is read in the snapshot another
 * session exported ({@code pg_export_snapshot()}), so all ranges see the table at one moment.
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
  private final String snapshotId;

  /**
   * @param partialInDatabase each id range is first reduced in PostgreSQL to one (key, group size,
   *     best (latest, id)) row per key — the combiner step, done where the rows are — and the pipeline
   *     combines those partial results across ranges with the same rule. Moves ~rows/keys times fewer
   *     rows out of the database; the survivor is the same.
   */
  public ReadKeyCandidates(JdbcConfig config, int tableIndex, TableRef table, List<String> naturalKey,
      String latestColumn, long minId, long snapshotMaxId, int partitions, boolean partialInDatabase) {
    this(config, tableIndex, table, naturalKey, latestColumn, minId, snapshotMaxId, partitions, partialInDatabase, null);
  }

  private ReadKeyCandidates(JdbcConfig config, int tableIndex, TableRef table, List<String> naturalKey,
      String latestColumn, long minId, long snapshotMaxId, int partitions, boolean partialInDatabase,
      String snapshotId) {
    this.config = config;
    this.tableIndex = tableIndex;
    this.table = table;
    this.naturalKey = List.copyOf(naturalKey);
    this.latestColumn = latestColumn;
    this.minId = minId;
    this.snapshotMaxId = snapshotMaxId;
    this.partitions = partitions;
    this.partialInDatabase = partialInDatabase;
    this.snapshotId = snapshotId;
  }

  /**
   * Every range read in {@code snapshotId}, exported by a session whose transaction stays open until the
   * pipeline ends.
   */
  public ReadKeyCandidates inSnapshot(String snapshotId) {
    return new ReadKeyCandidates(config, tableIndex, table, naturalKey, latestColumn, minId, snapshotMaxId, partitions,
        partialInDatabase, snapshotId);
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

  /** Per id range [?, ?): every row's id, latest (epoch µs) and key columns as text, in the mapper's order. */
  public static String rowQuery(TableRef table, List<String> naturalKey, String latestColumn) {
    StringBuilder sb = new StringBuilder("SELECT id, (extract(epoch FROM ")
        .append(Sql.quoteIdent(latestColumn)).append(") * 1000000)::bigint AS latest_us");
    for (int i = 0; i < naturalKey.size(); i++) {
      sb.append(", ").append(Sql.quoteIdent(naturalKey.get(i))).append("::text AS k").append(i);
    }
    return sb.append(" FROM ").append(table.quoted()).append(" WHERE id >= ? AND id < ?").toString();
  }

  /** About {@code partitions} id ranges [from, to) covering [minId, snapshotMaxId], at least ~1000 ids each. */
  List<KV<Long, Long>> ranges() {
    long span = snapshotMaxId - minId + 1;
    int n = (int) Math.max(1, Math.min(partitions, span / 1000 + 1));
    List<KV<Long, Long>> ranges = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      ranges.add(KV.of(minId + span * i / n, minId + span * (i + 1) / n));
    }
    return ranges;
  }

  @Override
  public PCollection<KV<String, Candidate>> expand(PBegin input) {
    ReadRangeFn read = partialInDatabase
        ? new ReadRangeFn(config, table, partialQuery(table, naturalKey, latestColumn), snapshotId,
            new PartialCandidateMapper(tableIndex, table.toString(), naturalKey.size()))
        : new ReadRangeFn(config, table, rowQuery(table, naturalKey, latestColumn), snapshotId,
            new KeyCandidateMapper(tableIndex, table.toString(), naturalKey.size()));
    return input
        .apply("IdRanges", Create.of(ranges()))
        .apply("SpreadRanges", Reshuffle.viaRandomKey())
        .apply(partialInDatabase ? "ReadPartialPerRange" : "ReadRowsPerRange", ParDo.of(read))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), Candidate.CandidateCoder.of()));
  }

  /**
   * Reads one id range with {@code query} (two parameters: from, to) on the worker's connection, in one
   * read-only transaction: in the exported snapshot when there is one, streamed by a cursor either way.
   */
  static final class ReadRangeFn extends DoFn<KV<Long, Long>, KV<String, Candidate>> {
    private static final long serialVersionUID = 1L;

    private final JdbcConfig config;
    private final TableRef table;
    private final String query;
    private final String snapshotId;
    private final JdbcIO.RowMapper<KV<String, Candidate>> mapper;
    private transient Connection connection;

    ReadRangeFn(JdbcConfig config, TableRef table, String query, String snapshotId,
        JdbcIO.RowMapper<KV<String, Candidate>> mapper) {
      this.config = config;
      this.table = table;
      this.query = query;
      this.snapshotId = snapshotId;
      this.mapper = mapper;
    }

    @Setup
    public void setup() throws SQLException {
      connection = config.connect("warehouse-dedupe-read");
    }

    @ProcessElement
    public void process(@Element KV<Long, Long> range, OutputReceiver<KV<String, Candidate>> out) throws SQLException {
      if (snapshotId == null) {
        Db.inTransaction(connection, () -> read(range, out));
      } else {
        Db.inSnapshot(connection, snapshotId, table.quoted(), () -> read(range, out));
      }
    }

    private Void read(KV<Long, Long> range, OutputReceiver<KV<String, Candidate>> out) throws SQLException {
      try (PreparedStatement ps = connection.prepareStatement(query)) {
        ps.setFetchSize(20_000);
        ps.setLong(1, range.getKey());
        ps.setLong(2, range.getValue());
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.output(mapper.mapRow(rs));
          }
        }
      } catch (SQLException e) {
        throw e;
      } catch (Exception e) {
        throw new SQLException("reading ids [" + range.getKey() + ", " + range.getValue() + ") of " + table + ": "
            + e.getMessage(), e);
      }
      return null;
    }

    @Teardown
    public void teardown() {
      Db.closeQuietly(connection);
    }
  }
}
