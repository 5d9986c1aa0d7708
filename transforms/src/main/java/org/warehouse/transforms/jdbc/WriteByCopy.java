package org.warehouse.transforms.jdbc;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Sum;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Instant;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;

/**
 * Writes {@code KV<table, COPY text line(s)>} into PostgreSQL tables with {@code COPY ... FROM
 * STDIN}: COPY is the fast path into PostgreSQL (it beat batched INSERT here several times over).
 *
 * <p>Lines are buffered per table and streamed at the end of each bundle (or every {@code
 * flushBytes}); one connection per DoFn instance is kept for its lifetime. The table name in the
 * key is a {@code [schema.]table} that is validated and quoted here. The output is the number of
 * rows written per table, summed over the whole run, so callers can verify what they loaded.
 *
 * <p>Each flush commits on its own: write into staging tables and publish them afterwards (see
 * {@link TableSwap}) so a failed run never shows partial data.
 */
public class WriteByCopy extends PTransform<PCollection<KV<String, String>>, PCollection<KV<String, Long>>> {
  private static final long serialVersionUID = 1L;

  private final JdbcConfig config;
  private final int flushBytes;
  private final boolean chunks;

  private WriteByCopy(JdbcConfig config, int flushBytes, boolean chunks) {
    this.config = config;
    this.flushBytes = flushBytes;
    this.chunks = chunks;
  }

  /** Each element's value is one COPY line (without its newline). */
  public static WriteByCopy to(JdbcConfig config) {
    return new WriteByCopy(config, 8 << 20, false);
  }

  /**
   * Each element's value is a chunk of complete COPY lines, each ending in a newline (rows are
   * counted by newlines): far fewer, bigger elements when the lines come ready-made, e.g. from
   * another server's {@code COPY ... TO STDOUT}.
   */
  public static WriteByCopy chunksTo(JdbcConfig config) {
    return new WriteByCopy(config, 8 << 20, true);
  }

  @Override
  public PCollection<KV<String, Long>> expand(PCollection<KV<String, String>> lines) {
    return lines
        .apply("CopyIntoTables", ParDo.of(new CopyFn(config, flushBytes, chunks)))
        .apply("SumRowsPerTable", Sum.longsPerKey());
  }

  static class CopyFn extends DoFn<KV<String, String>, KV<String, Long>> {
    private static final long serialVersionUID = 1L;
    private final Counter rowsWritten = Metrics.counter(WriteByCopy.class, "rowsWritten");
    private final Counter copyStatements = Metrics.counter(WriteByCopy.class, "copyStatements");

    private final JdbcConfig config;
    private final int flushBytes;
    private final boolean chunks;
    private transient Connection connection;
    private transient Map<String, StringBuilder> buffers;
    private transient Map<String, Long> bundleCounts;
    private transient Map<String, Long> pendingCounts;

    CopyFn(JdbcConfig config, int flushBytes, boolean chunks) {
      this.config = config;
      this.flushBytes = flushBytes;
      this.chunks = chunks;
    }

    @Setup
    public void setup() throws SQLException {
      connection = config.connect("warehouse-copy-writer");
      connection.setAutoCommit(true);
    }

    @StartBundle
    public void startBundle() {
      buffers = new HashMap<>();
      bundleCounts = new HashMap<>();
      pendingCounts = new HashMap<>();
    }

    @ProcessElement
    public void process(@Element KV<String, String> line) throws SQLException, IOException {
      StringBuilder sb = buffers.computeIfAbsent(line.getKey(), k -> new StringBuilder(1 << 16));
      String value = line.getValue();
      long rows = 1;
      if (chunks) {
        rows = 0;
        for (int i = 0; i < value.length(); i++) {
          if (value.charAt(i) == '\n') {
            rows++;
          }
        }
        if (rows == 0 || value.charAt(value.length() - 1) != '\n') {
          throw new IllegalArgumentException("a COPY chunk for " + line.getKey() + " must end with a newline");
        }
        sb.append(value);
      } else {
        sb.append(value).append('\n');
        for (int i = value.indexOf('\n'); i >= 0; i = value.indexOf('\n', i + 1)) {
          rows++; // a value may carry several COPY lines (COPY text escapes newlines inside values)
        }
      }
      pendingCounts.merge(line.getKey(), rows, Long::sum);
      if (sb.length() >= flushBytes) {
        flush(line.getKey());
      }
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext context) throws SQLException, IOException {
      for (String table : buffers.keySet().toArray(new String[0])) {
        flush(table);
      }
      for (Map.Entry<String, Long> e : bundleCounts.entrySet()) {
        context.output(KV.of(e.getKey(), e.getValue()), Instant.now(), GlobalWindow.INSTANCE);
      }
    }

    private void flush(String table) throws SQLException, IOException {
      StringBuilder sb = buffers.remove(table);
      long n = pendingCounts.getOrDefault(table, 0L);
      pendingCounts.remove(table);
      if (sb == null || n == 0) {
        return;
      }
      TableRef ref = TableRef.parse(table, "public");
      byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
      CopyManager copy = connection.unwrap(PGConnection.class).getCopyAPI();
      try {
        CopyIn in = copy.copyIn("COPY " + ref.quoted() + " FROM STDIN");
        try {
          in.writeToCopy(bytes, 0, bytes.length);
          in.endCopy();
        } finally {
          if (in.isActive()) {
            in.cancelCopy();
          }
        }
      } catch (SQLException e) {
        throw new WarehouseException("COPY into " + ref + " failed: " + e.getMessage(), e);
      }
      copyStatements.inc();
      rowsWritten.inc(n);
      bundleCounts.merge(table, n, Long::sum);
    }

    @Teardown
    public void teardown() {
      Db.closeQuietly(connection);
    }
  }
}
