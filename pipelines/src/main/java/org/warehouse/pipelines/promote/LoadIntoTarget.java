package org.warehouse.pipelines.promote;

import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PDone;
import org.warehouse.pipelines.promote.targetdb.BulkLoader;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Writes {@code KV<staging table, chunk of COPY text lines>} into the target through its {@link
 * BulkLoader}, whatever database that is. Chunks are buffered per table and loaded every {@link
 * #FLUSH_CHARS} characters and at the end of each bundle; each worker keeps one loader session.
 */
public final class LoadIntoTarget extends PTransform<PCollection<KV<String, String>>, PDone> {
  private static final long serialVersionUID = 1L;
  static final int FLUSH_CHARS = 8 << 20;

  private final BulkLoader loader;

  LoadIntoTarget(BulkLoader loader) {
    this.loader = loader;
  }

  @Override
  public PDone expand(PCollection<KV<String, String>> chunks) {
    chunks.apply("LoadChunks", ParDo.of(new LoadFn(loader)));
    return PDone.in(chunks.getPipeline());
  }

  static final class LoadFn extends DoFn<KV<String, String>, Void> {
    private static final long serialVersionUID = 1L;
    private final Counter rowsWritten = Metrics.counter(LoadIntoTarget.class, "rowsWritten");
    private final Counter loads = Metrics.counter(LoadIntoTarget.class, "copyStatements");

    private final BulkLoader loader;
    private transient BulkLoader.Session session;
    private transient Map<String, StringBuilder> buffers;

    LoadFn(BulkLoader loader) {
      this.loader = loader;
    }

    @Setup
    public void setup() throws SQLException {
      session = loader.open("warehouse-copy-writer");
    }

    @StartBundle
    public void startBundle() {
      buffers = new HashMap<>();
    }

    @ProcessElement
    public void process(@Element KV<String, String> chunk) throws SQLException {
      String text = chunk.getValue();
      if (text.isEmpty() || text.charAt(text.length() - 1) != '\n') {
        throw new IllegalArgumentException("a COPY chunk for " + chunk.getKey() + " must end with a newline");
      }
      StringBuilder sb = buffers.computeIfAbsent(chunk.getKey(), k -> new StringBuilder(text.length() * 2));
      sb.append(text);
      if (sb.length() >= FLUSH_CHARS) {
        flush(chunk.getKey());
      }
    }

    @FinishBundle
    public void finishBundle() throws SQLException {
      for (String table : buffers.keySet().toArray(new String[0])) {
        flush(table);
      }
    }

    private void flush(String table) throws SQLException {
      StringBuilder sb = buffers.remove(table);
      long rows = sb.chars().filter(ch -> ch == '\n').count(); // COPY text escapes newlines in values
      TableRef ref = TableRef.parse(table, "public");
      try {
        session.load(ref, sb.toString());
      } catch (SQLException e) {
        throw new WarehouseException("loading rows into " + ref + " failed: " + e.getMessage(), e);
      }
      loads.inc();
      rowsWritten.inc(rows);
    }

    @Teardown
    public void teardown() {
      Db.closeQuietly(session);
    }
  }
}
