package org.warehouse.transforms.ingest;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Loads whole SINASC files straight into their tables, ONE transaction per file, written from the
 * worker that parses the file ({@link SinascFileReader}): BEGIN; (for a replaced file) delete its old
 * rows; COPY the typed rows into the fact table (binary), the raw fields into bronze (text) and the
 * dead letters into rejects in ~1 MB COPY statements while the file is read (no staging table, no
 * Beam element per row); at the end of the
 * file check the reject ratio and the SHA-256; then insert the ledger row and a summary row and
 * COMMIT — or ROLLBACK (over {@code maxRejectRatio}, file-level error, any failure) and record only
 * the summary row (autocommit) with the refusal. A worker killed mid-file leaves nothing of it.
 *
 * <p>A retried call for a file whose transaction already committed (same file_id and sha256 in the
 * ledger) does nothing: each file is loaded exactly once.
 */
public class LoadSinascFiles extends PTransform<PCollection<FileIO.ReadableFile>, PCollection<String>> {
  private static final long serialVersionUID = 1L;

  /** Test seam: runs inside each file's transaction, after every write, before COMMIT. */
  public static volatile Runnable beforeCommit;

  /** The tables (already quoted), the files planned and the rules. */
  public static final class Target implements Serializable {
    private static final long serialVersionUID = 1L;
    final JdbcConfig db;
    final String fact;
    final String bronze; // null: bronze not written; columns (file_id, line_number, REQUIRED fields)
    final String rejects;
    final String ledger;
    final String summaries;
    final String encoding;
    final double maxRejectRatio;
    final Map<String, Long> fileIds;
    final Map<String, String> sha256;
    final Map<String, Long> bytes;
    final Set<String> replace;

    /**
     * @param bronze quoted bronze table, or null to skip bronze
     * @param summaries quoted table (file_name, file_id, lines_read, rows_loaded, rows_rejected, sha256,
     *     error) receiving one row per file read
     */
    public Target(JdbcConfig db, String fact, String bronze, String rejects, String ledger, String summaries,
        String encoding, double maxRejectRatio, Map<String, Long> fileIds, Map<String, String> sha256,
        Map<String, Long> bytes, Set<String> replace) {
      this.db = db;
      this.fact = fact;
      this.bronze = bronze;
      this.rejects = rejects;
      this.ledger = ledger;
      this.summaries = summaries;
      this.encoding = encoding;
      this.maxRejectRatio = maxRejectRatio;
      this.fileIds = new HashMap<>(fileIds);
      this.sha256 = new HashMap<>(sha256);
      this.bytes = new HashMap<>(bytes);
      this.replace = Set.copyOf(replace);
    }
  }

  /** birth_id = file_id * ID_BASE + line number (line 1 is the header). */
  public static final long ID_BASE = SinascFileReader.ID_BASE;

  /** The name a file is known by in the ledger: its base name. */
  public static String fileName(String path) {
    return SinascFileReader.fileName(path);
  }

  private final Target target;

  private LoadSinascFiles(Target target) {
    this.target = target;
  }

  public static LoadSinascFiles into(Target target) {
    return new LoadSinascFiles(target);
  }

  /** Output: the name of every file handled (committed or refused). */
  @Override
  public PCollection<String> expand(PCollection<FileIO.ReadableFile> files) {
    return files.apply("LoadEachFile", ParDo.of(new LoadFileFn(target)));
  }

  /** "PESO: not a number '3,2kg'" → "PESO: not a number" (the value and the parenthesis dropped). */
  static String reasonKind(String reason) {
    int q = reason.indexOf(" '");
    String r = q < 0 ? reason : reason.substring(0, q);
    int p = r.indexOf(" (");
    return p < 0 ? r : r.substring(0, p);
  }

  /** The three most frequent reason kinds, "kind xN" by count descending then kind. */
  static String topReasons(Map<String, Long> kinds) {
    List<Map.Entry<String, Long>> e = new ArrayList<>(kinds.entrySet());
    e.sort((a, b) -> a.getValue().equals(b.getValue()) ? a.getKey().compareTo(b.getKey())
        : Long.compare(b.getValue(), a.getValue()));
    List<String> top = new ArrayList<>();
    for (int i = 0; i < Math.min(3, e.size()); i++) {
      top.add(e.get(i).getKey() + " x" + e.get(i).getValue());
    }
    return String.join(", ", top);
  }

  static class LoadFileFn extends DoFn<FileIO.ReadableFile, String> {
    private static final long serialVersionUID = 1L;
    private final Counter linesRead = Metrics.counter(LoadSinascFiles.class, "linesRead");
    private final Counter rowsTyped = Metrics.counter(LoadSinascFiles.class, "rowsTyped");
    private final Counter rowsRejected = Metrics.counter(LoadSinascFiles.class, "rowsRejected");
    private final Counter filesParsed = Metrics.counter(LoadSinascFiles.class, "filesParsed");
    private final Counter filesFailed = Metrics.counter(LoadSinascFiles.class, "filesFailed");
    private final Counter filesCommitted = Metrics.counter(LoadSinascFiles.class, "filesCommitted");
    private final Counter filesRolledBack = Metrics.counter(LoadSinascFiles.class, "filesRolledBack");
    private final Counter copyStatements = Metrics.counter(LoadSinascFiles.class, "copyStatements");

    private final Target t;

    LoadFileFn(Target t) {
      this.t = t;
    }

    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, OutputReceiver<String> out) throws Exception {
      String name = SinascFileReader.fileName(file.getMetadata().resourceId().toString());
      Long fileId = t.fileIds.get(name);
      if (fileId == null) {
        return; // not planned (already loaded, or appeared after planning)
      }
      String sha = t.sha256.get(name);
      try (Connection c = t.db.connect("warehouse-ingest-file")) {
        c.setAutoCommit(false);
        try {
          // the COMMIT need not wait for the WAL flush: the file's rows and its ledger row are one
          // transaction, so a crash can only lose both (the file is then simply loaded by the next run)
          Db.execute(c, "SET LOCAL synchronous_commit = off");
          if (alreadyCommitted(c, name, fileId, sha)) {
            c.rollback();
            out.output(name); // a retried call: an earlier attempt committed this file
            return;
          }
          if (t.replace.contains(name)) {
            deleteOldVersion(c, name, fileId);
          }
          SinascFileReader.Outcome o;
          CopySink sink = new CopySink(c, name);
          try {
            o = SinascFileReader.readFile(file, name, fileId, t.encoding, sha, t.bronze != null, sink);
            sink.flushRejects();
            sink.finish(); // every chunk COPYed: the connection is this thread's again
          } finally {
            sink.abort();
          }
          linesRead.inc(o.lines);
          rowsTyped.inc(o.typed);
          rowsRejected.inc(o.rejected);
          String refusal = o.error;
          if (refusal == null && o.lines > 0 && (double) o.rejected / o.lines > t.maxRejectRatio) {
            refusal = String.format(Locale.ROOT,
                "%d of %d lines rejected (%.2f%% > --maxRejectRatio %.2f%%); top reasons: %s", o.rejected, o.lines,
                100.0 * o.rejected / o.lines, 100.0 * t.maxRejectRatio, topReasons(sink.kinds));
          }
          if (refusal != null) {
            c.rollback();
            filesFailed.inc();
            filesRolledBack.inc();
            c.setAutoCommit(true);
            summary(c, name, fileId, o, refusal);
          } else {
            filesParsed.inc();
            ledger(c, name, fileId, o);
            summary(c, name, fileId, o, null);
            Runnable hook = beforeCommit;
            if (hook != null) {
              hook.run();
            }
            c.commit();
            filesCommitted.inc();
          }
        } catch (Exception | Error e) {
          if (!c.getAutoCommit()) {
            c.rollback();
          }
          throw e;
        }
      }
      out.output(name);
    }

    private boolean alreadyCommitted(Connection c, String name, long fileId, String sha) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("SELECT file_id, sha256 FROM " + t.ledger
          + " WHERE file_name = ? FOR UPDATE")) {
        ps.setString(1, name);
        try (ResultSet rs = ps.executeQuery()) {
          // a new file (no planned sha: its file_id was drawn for this run) is committed when its id is there
          return rs.next() && rs.getLong(1) == fileId && (sha == null || rs.getString(2).equals(sha));
        }
      }
    }

    private void deleteOldVersion(Connection c, String name, long fileId) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + t.fact + " WHERE birth_id >= ? AND birth_id < ?")) {
        ps.setLong(1, fileId * SinascFileReader.ID_BASE);
        ps.setLong(2, (fileId + 1) * SinascFileReader.ID_BASE);
        ps.executeUpdate();
      }
      if (t.bronze != null) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + t.bronze + " WHERE file_id = ?")) {
          ps.setLong(1, fileId);
          ps.executeUpdate();
        }
      }
      for (String table : List.of(t.rejects, t.ledger)) {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE file_name = ?")) {
          ps.setString(1, name);
          ps.executeUpdate();
        }
      }
    }

    private void ledger(Connection c, String name, long fileId, SinascFileReader.Outcome o) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t.ledger + " (file_id, file_name, sha256, "
          + "bytes, lines_read, rows_loaded, rows_rejected, loaded_at, replaced_count) VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?)")) {
        ps.setLong(1, fileId);
        ps.setString(2, name);
        ps.setString(3, o.sha256);
        ps.setLong(4, t.bytes.getOrDefault(name, 0L));
        ps.setLong(5, o.lines);
        ps.setLong(6, o.typed);
        ps.setLong(7, o.rejected);
        ps.setInt(8, t.replace.contains(name) ? 1 : 0);
        ps.executeUpdate();
      }
    }

    private void summary(Connection c, String name, long fileId, SinascFileReader.Outcome o, String error)
        throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t.summaries
          + " (file_name, file_id, lines_read, rows_loaded, rows_rejected, sha256, error) VALUES (?, ?, ?, ?, ?, ?, ?)")) {
        ps.setString(1, name);
        ps.setLong(2, fileId);
        ps.setLong(3, o.lines);
        ps.setLong(4, o.typed);
        ps.setLong(5, o.rejected);
        ps.setString(6, o.sha256);
        ps.setString(7, error);
        ps.executeUpdate();
      }
    }

    /**
     * COPYs each chunk as it comes (one COPY statement per ~1 MB chunk) inside the file's transaction,
     * from a writer thread, so PostgreSQL inserts one chunk while this thread parses the next (the
     * connection is used by the writer only until {@link #finish}). Chunk buffers are recycled.
     */
    final class CopySink implements SinascFileReader.Sink {
      private final CopyManager copy;
      private final String name;
      private final String factCopy;
      private final String bronzeCopy;
      private final String rejectsCopy;
      private final StringBuilder rejectLines = new StringBuilder();
      final Map<String, Long> kinds = new HashMap<>();
      private final BlockingQueue<Job> queue = new ArrayBlockingQueue<>(4);
      private final BlockingQueue<CopyBuffer> free = new ArrayBlockingQueue<>(8);
      private final AtomicReference<Throwable> failure = new AtomicReference<>();
      private volatile boolean aborted;
      private final Thread writer;
      private final AtomicLong copies = new AtomicLong();

      private final class Job {
        final String sql; // null: end
        final CopyBuffer data;

        Job(String sql, CopyBuffer data) {
          this.sql = sql;
          this.data = data;
        }
      }

      CopySink(Connection c, String name) throws SQLException {
        this.copy = c.unwrap(PGConnection.class).getCopyAPI();
        this.name = name;
        this.factCopy = "COPY " + t.fact + " (" + String.join(", ", FactBirths.COLUMNS) + ") FROM STDIN (FORMAT binary)";
        this.bronzeCopy = t.bronze == null ? null : "COPY " + t.bronze + " (file_id, line_number, "
            + String.join(", ", SinascLineParser.REQUIRED).toLowerCase(Locale.ROOT) + ") FROM STDIN";
        this.rejectsCopy = "COPY " + t.rejects + " (file_name, line_number, raw_line, reason) FROM STDIN";
        this.writer = new Thread(this::writeLoop, "ingest-copy-" + name);
        this.writer.setDaemon(true);
        this.writer.start();
      }

      @Override
      public CopyBuffer silver(CopyBuffer chunk) throws IOException {
        put(new Job(factCopy, chunk));
        return fresh();
      }

      @Override
      public CopyBuffer bronze(CopyBuffer chunk) throws IOException {
        put(new Job(bronzeCopy, chunk));
        return fresh();
      }

      private CopyBuffer fresh() {
        CopyBuffer b = free.poll();
        return b != null ? b : new CopyBuffer(SinascFileReader.CHUNK_BYTES + 4096);
      }

      @Override
      public void reject(IngestReject r) throws IOException {
        kinds.merge(reasonKind(r.reason), 1L, Long::sum);
        if (rejectLines.length() > 0) {
          rejectLines.append('\n');
        }
        rejectLines.append(r.copyLine());
        if (rejectLines.length() >= SinascFileReader.CHUNK_BYTES) {
          flushRejects();
        }
      }

      void flushRejects() throws IOException {
        if (rejectLines.length() > 0) {
          CopyBuffer b = new CopyBuffer(0);
          b.buf = rejectLines.append('\n').toString().getBytes(StandardCharsets.UTF_8); // already escaped
          b.len = b.buf.length;
          put(new Job(rejectsCopy, b));
          rejectLines.setLength(0);
        }
      }

      private void put(Job job) throws IOException {
        try {
          while (!queue.offer(job, 100, TimeUnit.MILLISECONDS)) {
            rethrow();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while loading " + name, e);
        }
        rethrow();
      }

      private void rethrow() {
        Throwable e = failure.get();
        if (e instanceof RuntimeException) {
          throw (RuntimeException) e;
        }
        if (e != null) {
          throw new WarehouseException("COPY of " + name + " failed: " + e.getMessage(), e);
        }
      }

      /** Waits until every queued chunk is COPYed; throws the writer's failure. */
      void finish() throws IOException {
        put(new Job(null, null));
        try {
          writer.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while loading " + name, e);
        }
        rethrow();
        copyStatements.inc(copies.get());
      }

      /** Stops the writer (after a failure of this thread) and waits for it: the caller then rolls back. */
      void abort() {
        aborted = true;
        writer.interrupt();
        try {
          writer.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }

      private void writeLoop() {
        try {
          while (!aborted) {
            Job job = queue.take();
            if (job.sql == null) {
              return;
            }
            CopyIn in = copy.copyIn(job.sql);
            try {
              in.writeToCopy(job.data.buf, 0, job.data.len);
              in.endCopy();
            } finally {
              if (in.isActive()) {
                in.cancelCopy();
              }
            }
            copies.incrementAndGet(); // Beam metrics are per thread: counted by finish()
            job.data.clear();
            free.offer(job.data);
          }
        } catch (InterruptedException e) {
          // aborted
        } catch (SQLException e) {
          failure.set(new WarehouseException("COPY of " + name + " failed: " + e.getMessage(), e));
        } catch (RuntimeException | Error e) {
          failure.set(e);
        }
      }
    }
  }
}
