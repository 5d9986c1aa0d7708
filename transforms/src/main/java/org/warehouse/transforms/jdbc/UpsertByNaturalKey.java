package org.warehouse.transforms.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.joda.time.Instant;
import org.joda.time.ReadableInstant;

/**
 * The ETL-side fix for duplicates: writes Beam {@link Row}s with {@code INSERT … ON CONFLICT
 * (natural key) DO UPDATE SET every other column = EXCLUDED.column}, so a re-sent row updates the
 * one row of its key instead of adding another. The table needs a UNIQUE constraint (or index) on
 * the natural key — dedupe adds it. Columns are the Row schema's field names (validated, quoted);
 * a surrogate {@code id bigserial} is simply left out of the schema.
 *
 * <p>With {@link #keepingNewer(String)} an incoming row only replaces the stored one when it is not
 * older: {@code WHERE stored.latest IS NULL OR EXCLUDED.latest IS NULL OR EXCLUDED.latest >=
 * stored.latest} (the same "NULL counts as latest" order dedupe's survivor rule uses).
 *
 * <p>Rows are sent in JDBC batches (1,000 statements), each batch committed on its own; the output
 * is the total number of rows written. Rows of one key within a run are applied in arrival order.
 */
public class UpsertByNaturalKey extends PTransform<PCollection<Row>, PCollection<Long>> {
  private static final long serialVersionUID = 1L;

  private final JdbcConfig config;
  private final TableRef table;
  private final List<String> naturalKey;
  private final String latest;

  private UpsertByNaturalKey(JdbcConfig config, TableRef table, List<String> naturalKey, String latest) {
    this.config = config;
    this.table = table;
    if (naturalKey.isEmpty()) {
      throw new IllegalArgumentException("upsert into " + table + ": empty natural key");
    }
    for (String k : naturalKey) {
      Sql.requireIdent("natural key column of " + table, k);
    }
    this.naturalKey = List.copyOf(naturalKey);
    this.latest = latest == null ? null : Sql.requireIdent("latest column of " + table, latest);
  }

  public static UpsertByNaturalKey into(JdbcConfig config, TableRef table, List<String> naturalKey) {
    return new UpsertByNaturalKey(config, table, naturalKey, null);
  }

  /** Only replace a stored row when the incoming one is not older on {@code latestColumn}. */
  public UpsertByNaturalKey keepingNewer(String latestColumn) {
    return new UpsertByNaturalKey(config, table, naturalKey, latestColumn);
  }

  /** The statement for a schema (public for tests and docs). */
  public String statement(Schema schema) {
    List<String> cols = new ArrayList<>();
    List<String> sets = new ArrayList<>();
    for (Schema.Field f : schema.getFields()) {
      String col = Sql.requireIdent("column of " + table, f.getName());
      cols.add(col);
      if (!naturalKey.contains(col)) {
        sets.add(Sql.quoteIdent(col) + " = EXCLUDED." + Sql.quoteIdent(col));
      }
    }
    for (String k : naturalKey) {
      if (!cols.contains(k)) {
        throw new IllegalArgumentException("upsert into " + table + ": the rows lack natural key column " + k);
      }
    }
    StringBuilder sql = new StringBuilder("INSERT INTO ").append(table.quoted()).append(" AS stored (")
        .append(Sql.quoteColumns(cols)).append(") VALUES (")
        .append(String.join(", ", java.util.Collections.nCopies(cols.size(), "?"))).append(") ON CONFLICT (")
        .append(Sql.quoteColumns(naturalKey)).append(") DO ");
    if (sets.isEmpty()) {
      return sql.append("NOTHING").toString();
    }
    sql.append("UPDATE SET ").append(String.join(", ", sets));
    if (latest != null) {
      String l = Sql.quoteIdent(latest);
      sql.append(" WHERE stored.").append(l).append(" IS NULL OR EXCLUDED.").append(l).append(" IS NULL OR EXCLUDED.")
          .append(l).append(" >= stored.").append(l);
    }
    return sql.toString();
  }

  @Override
  public PCollection<Long> expand(PCollection<Row> rows) {
    String sql = statement(rows.getSchema());
    return rows.apply("UpsertBatches", ParDo.of(new UpsertFn(config, table, sql)))
        .apply("SumRowsWritten", Sum.longsGlobally());
  }

  static class UpsertFn extends DoFn<Row, Long> {
    private static final long serialVersionUID = 1L;
    private static final int BATCH = 1000;
    private final Counter upserted = Metrics.counter(UpsertByNaturalKey.class, "rowsUpserted");

    private final JdbcConfig config;
    private final TableRef table;
    private final String sql;
    private transient Connection connection;
    private transient PreparedStatement statement;
    private transient int pending;
    private transient long written;

    UpsertFn(JdbcConfig config, TableRef table, String sql) {
      this.config = config;
      this.table = table;
      this.sql = sql;
    }

    @Setup
    public void setup() throws SQLException {
      connection = config.connect("warehouse-upsert");
      connection.setAutoCommit(false);
      statement = connection.prepareStatement(sql);
    }

    @StartBundle
    public void startBundle() {
      pending = 0;
      written = 0;
    }

    @ProcessElement
    public void process(@Element Row row) throws SQLException {
      List<Schema.Field> fields = row.getSchema().getFields();
      for (int i = 0; i < fields.size(); i++) {
        bind(statement, i + 1, fields.get(i).getType(), row.getValue(i));
      }
      statement.addBatch();
      if (++pending >= BATCH) {
        flush();
      }
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) throws SQLException {
      flush();
      context.output(written, Instant.now(), GlobalWindow.INSTANCE);
    }

    private void flush() throws SQLException {
      if (pending == 0) {
        return;
      }
      try {
        statement.executeBatch();
        connection.commit();
      } catch (SQLException e) {
        connection.rollback();
        SQLException next = e.getNextException();
        throw new WarehouseException("upsert into " + table + " failed: "
            + (next != null ? next.getMessage() : e.getMessage()), e);
      }
      upserted.inc(pending);
      written += pending;
      pending = 0;
    }

    static void bind(PreparedStatement ps, int i, Schema.FieldType type, Object v) throws SQLException {
      Schema.TypeName t = type.getTypeName();
      if (v == null) {
        ps.setNull(i, t == Schema.TypeName.STRING ? Types.VARCHAR : t == Schema.TypeName.DATETIME ? Types.TIMESTAMP
            : t == Schema.TypeName.BOOLEAN ? Types.BOOLEAN : t == Schema.TypeName.DOUBLE ? Types.DOUBLE
            : t == Schema.TypeName.INT32 ? Types.INTEGER : Types.BIGINT);
      } else if (t == Schema.TypeName.DATETIME) {
        ps.setTimestamp(i, new java.sql.Timestamp(((ReadableInstant) v).getMillis()));
      } else if (t == Schema.TypeName.INT64) {
        ps.setLong(i, (Long) v);
      } else if (t == Schema.TypeName.INT32) {
        ps.setInt(i, (Integer) v);
      } else if (t == Schema.TypeName.STRING) {
        ps.setString(i, (String) v);
      } else {
        ps.setObject(i, v);
      }
    }

    @Teardown
    public void teardown() {
      Db.closeQuietly(connection);
    }
  }
}
