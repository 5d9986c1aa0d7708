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
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
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
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Loads whole SINASC files straight into their tables, ONE transaction per file, written from the
 * worker that parses the file ({@link SinascFileReader}): BEGIN; (for a replaced file) delete its old
 * rows; COPY the typed rows into the fact table (binary) and the dead letters into rejects in ~1 MB
 * chunks while the file is read (one COPY statement while the chunks go to the same table; no Beam
 * element per row); at the end of the file check the
 * reject ratio and the SHA-256; then attach the file's bronze partition, insert the ledger row and a
 * summary row and COMMIT — or ROLLBACK (over {@code maxRejectRatio}, file-level error, any failure)
 * and record only the summary row (autocommit) with the refusal. A worker killed mid-file leaves
 * nothing of it in any table.
 *
 * <p>Bronze is partitioned by file ({@link #bronzeTableSql}): a second connection writes the raw
 * fields, at the same time, into a new table of its own ({@code <bronze>__load_<file_id>_<token>},
 * with {@code CHECK (file_id = N)}) and commits it when the file is read; the file's transaction then
 * attaches it as partition {@code <bronze>_f<file_id>} (no validation scan: the CHECK implies the
 * partition bound) in the same commit as its fact rows and ledger row. So PostgreSQL inserts the fact
 * rows and the bronze rows in two backends at once, and bronze still shows a file's rows exactly when
 * the ledger and fact_births do. A load table left behind by a killed worker is not part of bronze
 * (it carries the comment {@link #LOADING_COMMENT}; {@code IngestPipeline} drops such tables at the
 * next run).
 *
 * <p>A retried call for a file whose transaction already committed (same file_id and sha256 in the
 * ledger) does nothing: each file is loaded exactly once.
 */
public class LoadSinascFiles extends PTransform<PCollection<FileIO.ReadableFile>, PCollection<String>> {
  private static final long serialVersionUID = 1L;

  /** The tables (already quoted), the files planned and the rules. */
  public static final class Target implements Serializable {
    private static final long serialVersionUID = 1L;
    final JdbcConfig db;
    final String fact;
    final TableRef bronze; // null: bronze not written; see bronzeTableSql
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
     * @param bronze the bronze table (created with {@link #bronzeTableSql}), or null to skip bronze
     * @param summaries quoted table (file_name, file_id, lines_read, rows_loaded, rows_rejected, sha256,
     *     error) receiving one row per file read
     */
    public Target(JdbcConfig db, String fact, TableRef bronze, String rejects, String ledger, String summaries,
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

  /** Comment on a bronze load table while it is not attached; a run drops such leftovers. */
  public static final String LOADING_COMMENT = "warehouse ingest: bronze rows of a file being loaded";

  /** bronze's columns: the ledger's file_id, the line number, the raw REQUIRED fields as text. */
  public static final List<String> BRONZE_COLUMNS = bronzeColumns();

  private static List<String> bronzeColumns() {
    List<String> cols = new ArrayList<>(List.of("file_id", "line_number"));
    SinascLineParser.REQUIRED.forEach(c -> cols.add(c.toLowerCase(Locale.ROOT)));
    return List.copyOf(cols);
  }

  /**
   * bronze: partitioned by file (LIST on file_id), one partition per loaded file, no key or index —
   * one file's rows are written once, the ledger guarantees a file is loaded once, and --replace
   * swaps the file's partition.
   */
  public static String bronzeTableSql(TableRef bronze) {
    StringBuilder sql = new StringBuilder("CREATE TABLE " + bronze.quoted()
        + " (file_id integer NOT NULL, line_number integer NOT NULL");
    BRONZE_COLUMNS.subList(2, BRONZE_COLUMNS.size()).forEach(c -> sql.append(", ").append(c).append(" text"));
    return sql.append(") PARTITION BY LIST (file_id)").toString();
  }

  /** The partition holding one file's bronze rows. */
  public static TableRef bronzePartition(TableRef bronze, long fileId) {
    return bronze.withSuffix("_f" + fileId);
  }

  /** The bronze partitions holding file_id (one; none before the file's first load), as SQL names. */
  public static List<String> bronzePartitionsOf(Connection c, TableRef bronze, long fileId) throws SQLException {
    List<String> parts = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT p.oid::regclass::text FROM pg_inherits i "
        + "JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = ?::regclass "
        + "AND pg_get_expr(p.relpartbound, p.oid) = ?")) {
      ps.setString(1, bronze.quoted());
      ps.setString(2, "FOR VALUES IN (" + fileId + ")");
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          parts.add(rs.getString(1));
        }
      }
    }
    return parts;
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
    // kept across the files this instance loads (two connections and their authentication per file
    // cost ~40 ms, measured with 40 small files); dropped after a failed file
    private transient Connection fileConn;
    private transient Connection bronzeConn;

    LoadFileFn(Target t) {
      this.t = t;
    }

    private Connection fileConnection() throws SQLException {
      fileConn = usable(fileConn, "warehouse-ingest-file");
      return fileConn;
    }

    private Connection bronzeConnection() throws SQLException {
      bronzeConn = usable(bronzeConn, "warehouse-ingest-bronze");
      return bronzeConn;
    }

    /** The kept session if it still answers (a server restart or an idle timeout ends it), else a new one. */
    private Connection usable(Connection kept, String applicationName) throws SQLException {
      if (kept != null && kept.isValid(5)) {
        return kept;
      }
      closeQuietly(kept);
      return t.db.connect(applicationName);
    }

    @Teardown
    public void closeConnections() {
      closeQuietly(fileConn);
      closeQuietly(bronzeConn);
      fileConn = null;
      bronzeConn = null;
    }

    private static void closeQuietly(Connection conn) {
      try {
        if (conn != null) {
          conn.close();
        }
      } catch (SQLException ignored) {
        // closing a session that may already be dead
      }
    }

    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, OutputReceiver<String> out) throws Exception {
      String name = SinascFileReader.fileName(file.getMetadata().resourceId().toString());
      Long fileId = t.fileIds.get(name);
      if (fileId == null) {
        return; // not planned (already loaded, or appeared after planning)
      }
      String sha = t.sha256.get(name);
      Connection c = fileConnection();
      Connection cb = t.bronze == null ? null : bronzeConnection();
      c.setAutoCommit(false);
      BronzeLoad bronze = null;
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
        if (cb != null) {
          bronze = new BronzeLoad(cb, fileId);
        }
        SinascFileReader.Outcome o;
        CopySink sink = new CopySink(c, bronze, name);
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
          if (bronze != null) {
            bronze.discard();
          }
          filesFailed.inc();
          filesRolledBack.inc();
          c.setAutoCommit(true);
          summary(c, name, fileId, o, refusal);
        } else {
          filesParsed.inc();
          if (bronze != null) {
            bronze.attach(c);
          }
          ledger(c, name, fileId, o);
          summary(c, name, fileId, o, null);
          c.commit();
          filesCommitted.inc();
        }
      } catch (Exception | Error e) {
        try {
          if (!c.getAutoCommit()) {
            c.rollback();
          }
        } catch (SQLException r) {
          e.addSuppressed(r); // a broken session: closed below, the transaction dies with it
        }
        if (bronze != null) {
          try {
            bronze.discard();
          } catch (SQLException | RuntimeException d) {
            e.addSuppressed(d); // the next run drops the load table (LOADING_COMMENT)
          }
        }
        closeConnections(); // a failed file's sessions are not reused
        throw e;
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

    /** The fact, reject and ledger rows of a replaced file (its bronze partition is swapped at attach). */
    private void deleteOldVersion(Connection c, String name, long fileId) throws SQLException {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + t.fact + " WHERE birth_id >= ? AND birth_id < ?")) {
        ps.setLong(1, fileId * SinascFileReader.ID_BASE);
        ps.setLong(2, (fileId + 1) * SinascFileReader.ID_BASE);
        ps.executeUpdate();
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
     * One file's bronze rows: a table of their own on the bronze connection, created in that
     * connection's transaction (so a failure before {@link #commit} leaves nothing), committed when the
     * file is read, attached by the file's transaction.
     */
    final class BronzeLoad {
      private final Connection cb;
      private final long fileId;
      final TableRef table;
      final String copySql;
      private boolean committed;

      BronzeLoad(Connection cb, long fileId) throws SQLException {
        this.cb = cb;
        this.fileId = fileId;
        String token = UUID.randomUUID().toString().substring(0, 8);
        this.table = t.bronze.withSuffix("__load_" + fileId + "_" + token);
        cb.setAutoCommit(false);
        // like the file's transaction: its COMMIT comes later in the WAL, so it cannot outlive this one
        Db.execute(cb, "SET LOCAL synchronous_commit = off");
        Db.execute(cb, "CREATE TABLE " + table.quoted() + " (LIKE " + t.bronze.quoted() + ", CHECK (file_id = "
            + fileId + "))");
        Db.execute(cb, "COMMENT ON TABLE " + table.quoted() + " IS " + Sql.literal(LOADING_COMMENT));
        this.copySql = "COPY " + table.quoted() + " (" + String.join(", ", BRONZE_COLUMNS) + ") FROM STDIN";
      }

      /** Commits the rows COPYed so far (the table is not part of bronze yet). */
      void commit() throws SQLException {
        cb.commit();
        cb.setAutoCommit(true);
        committed = true;
      }

      /**
       * In the file's transaction {@code c}: drops the file's previous partition (a replaced file; a
       * moment's exclusive lock on bronze, released by the commit that follows), attaches this table
       * and gives it the partition's name.
       */
      void attach(Connection c) throws SQLException {
        commit();
        for (String old : bronzePartitionsOf(c, t.bronze, fileId)) {
          Db.execute(c, "DROP TABLE " + old);
        }
        TableRef part = bronzePartition(t.bronze, fileId);
        Db.execute(c, "ALTER TABLE " + t.bronze.quoted() + " ATTACH PARTITION " + table.quoted()
            + " FOR VALUES IN (" + fileId + ")");
        Db.execute(c, "ALTER TABLE " + table.quoted() + " RENAME TO " + Sql.quoteIdent(part.name()));
        Db.execute(c, "COMMENT ON TABLE " + part.quoted() + " IS " + Sql.literal("bronze rows of the file with "
            + "file_id " + fileId + " in the ingest ledger"));
      }

      /** Undoes the load table: rolled back, or dropped once committed (the file's transaction failed). */
      void discard() throws SQLException {
        if (!committed) {
          cb.rollback();
        } else {
          Db.execute(cb, "DROP TABLE IF EXISTS " + table.quoted());
        }
      }
    }

    /**
     * COPYs each ~1 MB chunk as it comes, from writer threads, so PostgreSQL inserts one chunk while
     * this thread parses the next: fact rows and rejects inside the file's transaction (that connection
     * is used by its writer only until {@link #finish}), bronze rows on the bronze connection, into the
     * file's load table. A COPY statement stays open while the chunks go to the same table: a file
     * without rejects is one fact COPY and one bronze COPY (a statement per chunk, each set up anew
     * and waited for: 21.3–22.5 instead of 17.3–19.0 CPU-s for 5M rows, docs/ingest.md). Chunks are recycled.
     */
    final class CopySink implements SinascFileReader.Sink {
      private final String name;
      private final String factCopy;
      private final String rejectsCopy;
      private final StringBuilder rejectLines = new StringBuilder();
      final Map<String, Long> kinds = new HashMap<>();
      private final BlockingQueue<CopyBuffer> free = new ArrayBlockingQueue<>(12);
      private final AtomicReference<Throwable> failure = new AtomicReference<>();
      private volatile boolean aborted;
      private final AtomicLong copies = new AtomicLong();
      private final Lane factLane;
      private final Lane bronzeLane; // null without bronze
      private final String bronzeCopy;

      private final class Job {
        final String sql; // null: end
        final boolean binary;
        final CopyBuffer data;

        Job(String sql, boolean binary, CopyBuffer data) {
          this.sql = sql;
          this.binary = binary;
          this.data = data;
        }
      }

      CopySink(Connection c, BronzeLoad bronze, String name) throws SQLException {
        this.name = name;
        this.factCopy = "COPY " + t.fact + " (" + String.join(", ", FactBirths.COLUMNS) + ") FROM STDIN (FORMAT binary)";
        this.rejectsCopy = "COPY " + t.rejects + " (file_name, line_number, raw_line, reason) FROM STDIN";
        this.factLane = new Lane(c, "ingest-copy-" + name);
        this.bronzeLane = bronze == null ? null : new Lane(bronze.cb, "ingest-bronze-" + name);
        this.bronzeCopy = bronze == null ? null : bronze.copySql;
      }

      @Override
      public CopyBuffer silver(CopyBuffer chunk) throws IOException {
        factLane.put(new Job(factCopy, true, chunk));
        return fresh();
      }

      @Override
      public CopyBuffer bronze(CopyBuffer chunk) throws IOException {
        bronzeLane.put(new Job(bronzeCopy, false, chunk));
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
          factLane.put(new Job(rejectsCopy, false, b));
          rejectLines.setLength(0);
        }
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

      /** Waits until every queued chunk is COPYed; throws a writer's failure. */
      void finish() throws IOException {
        factLane.put(new Job(null, false, null));
        if (bronzeLane != null) {
          bronzeLane.put(new Job(null, false, null));
        }
        factLane.join();
        if (bronzeLane != null) {
          bronzeLane.join();
        }
        rethrow();
        copyStatements.inc(copies.get());
      }

      /** Stops the writers (after a failure of this thread) and waits for them: the caller then rolls back. */
      void abort() {
        aborted = true;
        factLane.abort();
        if (bronzeLane != null) {
          bronzeLane.abort();
        }
      }

      /** One connection's writer thread and its queue of chunks. */
      private final class Lane {
        private final CopyManager copy;
        private final BlockingQueue<Job> queue = new ArrayBlockingQueue<>(4);
        private final Thread writer;

        Lane(Connection c, String threadName) throws SQLException {
          this.copy = c.unwrap(PGConnection.class).getCopyAPI();
          this.writer = new Thread(this::writeLoop, threadName);
          this.writer.setDaemon(true);
          this.writer.start();
        }

        void put(Job job) throws IOException {
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

        void join() throws IOException {
          try {
            writer.join();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while loading " + name, e);
          }
        }

        void abort() {
          writer.interrupt();
          try {
            writer.join();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }

        private void writeLoop() {
          CopyIn open = null; // the COPY statement open for the previous chunk's table
          String openSql = null;
          boolean openBinary = false;
          try {
            while (!aborted) {
              Job job = queue.take();
              if (open != null && !Objects.equals(job.sql, openSql)) {
                end(open, openBinary);
                open = null;
              }
              if (job.sql == null) {
                return;
              }
              if (open == null) {
                open = copy.copyIn(job.sql);
                openSql = job.sql;
                openBinary = job.binary;
                if (job.binary) {
                  open.writeToCopy(CopyBuffer.BINARY_HEADER, 0, CopyBuffer.BINARY_HEADER.length);
                }
                copies.incrementAndGet(); // Beam metrics are per thread: counted by finish()
              }
              open.writeToCopy(job.data.buf, 0, job.data.len);
              job.data.clear();
              free.offer(job.data);
            }
          } catch (InterruptedException e) {
            // aborted
          } catch (SQLException e) {
            failure.compareAndSet(null, new WarehouseException("COPY of " + name + " failed: " + e.getMessage(), e));
          } catch (RuntimeException | Error e) {
            failure.compareAndSet(null, e);
          } finally {
            if (open != null && open.isActive()) {
              try {
                open.cancelCopy(); // aborted or failed: the caller rolls the transaction back
              } catch (SQLException e) {
                failure.compareAndSet(null, new WarehouseException("COPY of " + name + " failed: " + e.getMessage(), e));
              }
            }
          }
        }

        private void end(CopyIn in, boolean binary) throws SQLException {
          if (binary) {
            in.writeToCopy(CopyBuffer.BINARY_TRAILER, 0, CopyBuffer.BINARY_TRAILER.length);
          }
          in.endCopy();
        }
      }
    }
  }
}
