package org.warehouse.transforms.births;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
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
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Reads the fact table in parallel: {@code birth_id} [lower, upper] is split into ranges, each read
 * by one query on its reader's own connection. Every range is read in the snapshot the driver
 * exported ({@code pg_export_snapshot()}, its transaction open until the pipeline ends): all ranges
 * see the fact table as of one moment, whatever commits meanwhile.
 */
public class ReadBirths extends PTransform<PBegin, PCollection<BirthRecord>> {
  private static final long serialVersionUID = 1L;

  /**
   * Called by a range reader inside its snapshot transaction, before and after it reads its rows
   * (tests hold a reader there to change the fact table mid-run). Runs on the reader's connection.
   */
  public interface RangeHook extends Serializable {
    RangeHook NONE = new RangeHook() {
      private static final long serialVersionUID = 1L;
    };

    default void beforeRead(Connection c, long fromId, long toIdExclusive) throws SQLException {}

    default void afterRead(Connection c, long fromId, long toIdExclusive) throws SQLException {}
  }

  private final JdbcConfig config;
  private final TableRef table;
  private final List<KV<Long, Long>> ranges;
  private final String snapshot;
  private final boolean categories;
  private final RangeHook hook;

  private ReadBirths(JdbcConfig config, TableRef table, List<KV<Long, Long>> ranges, String snapshot,
      boolean categories, RangeHook hook) {
    this.config = config;
    this.table = table;
    this.ranges = ranges;
    this.snapshot = Objects.requireNonNull(snapshot, "snapshot");
    this.categories = categories;
    this.hook = hook;
  }

  /**
   * The columns a fact table made before they existed may lack: it is read with them NULL (the
   * measures then use weeks and visits only).
   */
  public static final List<String> CATEGORY_COLUMNS = List.of("gestation_category", "prenatal_category");

  /**
   * Reads birth_id in [lowerBound, upperBound] (both inclusive) in {@code partitions} ranges, each in
   * the exported {@code snapshot}.
   */
  public static ReadBirths from(JdbcConfig config, TableRef table, String snapshot, int partitions, long lowerBound,
      long upperBound) {
    return new ReadBirths(config, table, ranges(lowerBound, upperBound, partitions), snapshot, true, RangeHook.NONE);
  }

  /** The same read of a table that lacks {@link #CATEGORY_COLUMNS}: they are read as NULL. */
  public ReadBirths withoutCategoryColumns() {
    return new ReadBirths(config, table, ranges, snapshot, false, hook);
  }

  /** The same read with {@code hook} around every range. */
  public ReadBirths withRangeHook(RangeHook rangeHook) {
    return new ReadBirths(config, table, ranges, snapshot, categories, rangeHook);
  }

  /**
   * [from, to) ranges of equal width covering [lower, upper] exactly, at most {@code partitions} of
   * them (fewer when there are fewer ids), in id order.
   */
  public static List<KV<Long, Long>> ranges(long lower, long upper, int partitions) {
    if (partitions < 1 || upper < lower) {
      throw new IllegalArgumentException("need partitions >= 1 and lower <= upper (" + partitions + ", "
          + lower + ".." + upper + ")");
    }
    long ids = upper - lower + 1;
    long width = Math.max(1, (ids + partitions - 1) / partitions);
    List<KV<Long, Long>> out = new ArrayList<>();
    for (long from = lower; from <= upper; from += width) {
      out.add(KV.of(from, Math.min(upper - from + 1, width) + from));
    }
    return out;
  }

  /** The columns the mapper reads, in its order; the category columns as NULL when the table lacks them. */
  static String query(TableRef table, boolean categories) {
    List<String> columns = new ArrayList<>();
    for (String c : FactBirths.COLUMNS) {
      columns.add(categories || !CATEGORY_COLUMNS.contains(c) ? c : "NULL::smallint AS " + c);
    }
    return "SELECT " + String.join(", ", columns) + " FROM " + table.quoted() + " WHERE birth_id >= ? AND birth_id < ?";
  }

  @Override
  public PCollection<BirthRecord> expand(PBegin input) {
    return input
        .apply("BirthIdRanges", Create.of(ranges).withCoder(KvCoder.of(VarLongCoder.of(), VarLongCoder.of())))
        .apply("SpreadOverReaders", Reshuffle.viaRandomKey())
        .apply("ReadRangeInSnapshot", ParDo.of(new ReadRangeFn(config, query(table, categories), table, snapshot, hook)))
        .setCoder(BirthRecord.RecordCoder.of());
  }

  /** Reads one birth_id range in the run's snapshot, on this reader's connection. */
  static final class ReadRangeFn extends DoFn<KV<Long, Long>, BirthRecord> {
    private static final long serialVersionUID = 1L;
    private final JdbcConfig config;
    private final String query;
    private final TableRef table;
    private final String snapshot;
    private final RangeHook hook;
    private transient Connection connection;

    ReadRangeFn(JdbcConfig config, String query, TableRef table, String snapshot, RangeHook hook) {
      this.config = config;
      this.query = query;
      this.table = table;
      this.snapshot = snapshot;
      this.hook = hook;
    }

    @Setup
    public void setup() throws SQLException {
      connection = config.connect("warehouse-aggregate-read");
    }

    @ProcessElement
    public void process(@Element KV<Long, Long> range, OutputReceiver<BirthRecord> out) throws Exception {
      long from = range.getKey();
      long to = range.getValue();
      BirthRecordMapper mapper = new BirthRecordMapper();
      Db.inSnapshot(connection, snapshot, table.quoted(), () -> {
        hook.beforeRead(connection, from, to);
        try (PreparedStatement ps = connection.prepareStatement(query)) {
          ps.setFetchSize(20_000);
          ps.setLong(1, from);
          ps.setLong(2, to);
          try (ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
              out.output(mapper.mapRow(rs));
            }
          }
        }
        hook.afterRead(connection, from, to);
        return null;
      });
    }

    @Teardown
    public void teardown() {
      Db.closeQuietly(connection);
    }
  }
}
