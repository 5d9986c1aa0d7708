package org.warehouse.transforms.tablecopy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyOut;
import org.warehouse.transforms.jdbc.CopyText;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Reads {@link TableRange}s of any source tables as {@code KV<destination table, chunk of COPY text
 * lines>} (about 1 MB each, every line newline-terminated: the input of {@link
 * org.warehouse.transforms.jdbc.WriteByCopy#chunksTo}). Chunks instead of one element per row cut
 * the runner's per-element cost (figures in docs/promote.md). One DoFn serves every table,
 * so the graph has the same three steps however many tables are promoted and the ranges of all
 * tables share the workers.
 *
 * <p>Two ways to read a range, same output:
 *
 * <ul>
 *   <li>{@link Mode#COPY} (default): the source server's own {@code COPY (SELECT …) TO STDOUT} —
 *       the server renders each row in COPY text format, which is exactly what COPY FROM on the
 *       target parses; no per-value work in Java.
 *   <li>{@link Mode#JDBC}: {@code SELECT col::text, …} through a cursor, each row turned into a COPY
 *       line by {@link TextRowToCopyLine} (the JdbcIO-style row mapper).
 * </ul>
 *
 * Both sessions use {@link TableChecksum#SESSION_SETTINGS} (ISO dates, UTC, shortest-exact floats)
 * so values are rendered in a form any target session parses back to the same value.
 */
public final class ReadTableRanges extends PTransform<PCollection<TableRange>, PCollection<KV<String, String>>> {
  private static final long serialVersionUID = 1L;
  /** Rows are emitted in chunks of complete COPY lines of about this size (see WriteByCopy.chunksTo). */
  static final int CHUNK_BYTES = 1 << 20;

  /** How a range is read from the source. */
  public enum Mode { COPY, JDBC }

  private final JdbcConfig source;
  private final Mode mode;
  private final String snapshot;

  private ReadTableRanges(JdbcConfig source, Mode mode, String snapshot) {
    this.source = source;
    this.mode = mode;
    this.snapshot = snapshot;
  }

  public static ReadTableRanges from(JdbcConfig source, Mode mode) {
    return new ReadTableRanges(source, mode, null);
  }

  /**
   * Every range read in the snapshot the source's session exported ({@code pg_export_snapshot()}; that
   * transaction must stay open until the pipeline ends): all ranges of all tables see one state.
   */
  public ReadTableRanges inSnapshot(String snapshotId) {
    return new ReadTableRanges(source, mode, snapshotId);
  }

  /** The select list a range of this mode needs for the given (validated) columns. */
  public static String selectList(Mode mode, List<String> columns) {
    StringBuilder sb = new StringBuilder();
    for (String c : columns) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(Sql.quoteIdent(c));
      if (mode == Mode.JDBC) {
        sb.append("::text");
      }
    }
    return sb.toString();
  }

  @Override
  public PCollection<KV<String, String>> expand(PCollection<TableRange> ranges) {
    return ranges
        .apply("ReadRangeAsCopyLines", ParDo.of(new ReadRangeFn(source, mode, snapshot)))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
  }

  /** Maps a row of text columns to one COPY text line (tab-separated, escaped, \N for NULL). */
  public static final class TextRowToCopyLine implements JdbcIO.RowMapper<String> {
    private static final long serialVersionUID = 1L;

    @Override
    public String mapRow(ResultSet rs) throws SQLException {
      int n = rs.getMetaData().getColumnCount();
      StringBuilder sb = new StringBuilder(64 + 16 * n);
      for (int i = 1; i <= n; i++) {
        if (i > 1) {
          sb.append('\t');
        }
        String v = rs.getString(i);
        if (v == null) {
          sb.append(CopyText.NULL);
        } else {
          CopyText.escapeInto(sb, v);
        }
      }
      return sb.toString();
    }
  }

  static final class ReadRangeFn extends DoFn<TableRange, KV<String, String>> {
    private static final long serialVersionUID = 1L;
    private final Counter rowsRead = Metrics.counter(ReadTableRanges.class, "rowsRead");
    private final Counter rangesRead = Metrics.counter(ReadTableRanges.class, "rangesRead");

    private final JdbcConfig source;
    private final Mode mode;
    private final String snapshot;
    private transient Connection connection;

    ReadRangeFn(JdbcConfig source, Mode mode, String snapshot) {
      this.source = source;
      this.mode = mode;
      this.snapshot = snapshot;
    }

    @Setup
    public void setup() throws SQLException {
      connection = source.connect("warehouse-promote-reader");
      Db.execute(connection, TableChecksum.SESSION_SETTINGS);
      connection.setAutoCommit(mode == Mode.COPY);
      connection.setReadOnly(true);
    }

    @ProcessElement
    public void process(@Element TableRange r, OutputReceiver<KV<String, String>> out) throws SQLException {
      if (snapshot == null) {
        read(r, out);
      } else {
        Db.inSnapshot(connection, snapshot, r.source(), () -> {
          read(r, out);
          return null;
        });
      }
    }

    private void read(TableRange r, OutputReceiver<KV<String, String>> out) throws SQLException {
      String query = "SELECT " + r.columns() + " FROM " + r.source() + " WHERE " + r.where();
      long n = 0;
      try {
        if (mode == Mode.COPY) {
          CopyOut copy = connection.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (" + query + ") TO STDOUT");
          ByteArrayOutputStream chunk = new ByteArrayOutputStream(CHUNK_BYTES + (64 << 10));
          byte[] row;
          while ((row = copy.readFromCopy()) != null) {
            chunk.write(row, 0, row.length); // one row per CopyData message, newline included
            n++;
            if (chunk.size() >= CHUNK_BYTES) {
              out.output(KV.of(r.destination(), chunk.toString(StandardCharsets.UTF_8)));
              chunk.reset();
            }
          }
          if (chunk.size() > 0) {
            out.output(KV.of(r.destination(), chunk.toString(StandardCharsets.UTF_8)));
          }
        } else {
          TextRowToCopyLine mapper = new TextRowToCopyLine();
          try (Statement st = connection.createStatement()) {
            st.setFetchSize(10_000);
            try (ResultSet rs = st.executeQuery(query)) {
              StringBuilder chunk = new StringBuilder(CHUNK_BYTES + (64 << 10));
              while (rs.next()) {
                chunk.append(mapper.mapRow(rs)).append('\n');
                n++;
                if (chunk.length() >= CHUNK_BYTES) {
                  out.output(KV.of(r.destination(), chunk.toString()));
                  chunk.setLength(0);
                }
              }
              if (chunk.length() > 0) {
                out.output(KV.of(r.destination(), chunk.toString()));
              }
            }
          }
          connection.commit();
        }
      } catch (SQLException e) {
        if (!connection.getAutoCommit()) {
          connection.rollback();
        }
        throw new WarehouseException("reading " + r + " from the source failed: " + e.getMessage(), e);
      }
      rowsRead.inc(n);
      rangesRead.inc();
    }

    @Teardown
    public void teardown() {
      Db.closeQuietly(connection);
    }
  }
}
