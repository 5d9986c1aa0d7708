package org.warehouse.transforms.ingest;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.beam.sdk.metrics.Counter;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * COPYs each ~1 MB chunk as it comes, from writer threads, so PostgreSQL inserts one chunk while
 * this thread parses the next: fact rows and rejects inside the file's transaction (that connection
 * is used by its writer only until {@link #finish}), bronze rows on the bronze connection, into the
 * file's load table. A COPY statement stays open while the chunks go to the same table: a file
 * without rejects is one fact COPY and one bronze COPY (a statement per chunk, each set up anew
 * and waited for: 21.3–22.5 instead of 17.3–19.0 CPU-s for 5M rows, docs/ingest.md). Chunks are recycled.
 */
final class CopySink implements SinascFileReader.Sink {
  private final Counter copyStatements;
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

  CopySink(Connection c, BronzeLoad bronze, String name, String fact, String rejects, Counter copyStatements)
      throws SQLException {
    this.name = name;
    this.copyStatements = copyStatements;
    this.factCopy = "COPY " + fact + " (" + String.join(", ", FactBirths.COLUMNS) + ") FROM STDIN (FORMAT binary)";
    this.rejectsCopy = "COPY " + rejects + " (file_name, line_number, raw_line, reason) FROM STDIN";
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
    kinds.merge(LoadSinascFiles.reasonKind(r.reason), 1L, Long::sum);
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
