package org.warehouse.transforms.ingest;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.LockTimeouts;

/**
 * Loads one planned file per call in one transaction of its own (see {@link LoadSinascFiles}): read and
 * COPY while reading, then publish (attach bronze, ledger row, summary row, COMMIT) or refuse (ROLLBACK,
 * summary row with the reason).
 */
final class LoadFileFn extends DoFn<FileIO.ReadableFile, String> {
  private static final long serialVersionUID = 1L;
  private final Counter linesRead = Metrics.counter(LoadSinascFiles.class, "linesRead");
  private final Counter rowsTyped = Metrics.counter(LoadSinascFiles.class, "rowsTyped");
  private final Counter rowsRejected = Metrics.counter(LoadSinascFiles.class, "rowsRejected");
  private final Counter filesParsed = Metrics.counter(LoadSinascFiles.class, "filesParsed");
  private final Counter filesFailed = Metrics.counter(LoadSinascFiles.class, "filesFailed");
  private final Counter filesCommitted = Metrics.counter(LoadSinascFiles.class, "filesCommitted");
  private final Counter filesRolledBack = Metrics.counter(LoadSinascFiles.class, "filesRolledBack");
  private final Counter copyStatements = Metrics.counter(LoadSinascFiles.class, "copyStatements");

  private final LoadSinascFiles.Target t;
  // kept across the files this instance loads (two connections and their authentication per file
  // cost ~40 ms, measured with 40 small files); dropped after a failed file
  private transient Connection fileConn;
  private transient Connection bronzeConn;

  LoadFileFn(LoadSinascFiles.Target t) {
    this.t = t;
  }

  /** The kept session if it still answers (a server restart or an idle timeout ends it), else a new one. */
  private Connection usable(Connection kept, String applicationName) throws SQLException {
    if (kept != null && kept.isValid(5)) {
      return kept;
    }
    Db.closeQuietly(kept);
    return t.db().connect(applicationName);
  }

  @Teardown
  public void closeConnections() {
    Db.closeQuietly(fileConn);
    Db.closeQuietly(bronzeConn);
    fileConn = null;
    bronzeConn = null;
  }

  @ProcessElement
  public void process(@Element FileIO.ReadableFile file, OutputReceiver<String> out) throws Exception {
    String name = SinascFileReader.fileName(file.getMetadata().resourceId().toString());
    LoadSinascFiles.PlannedLoad plan = t.files().get(name);
    if (plan == null) {
      return; // not planned (already loaded, or appeared after planning)
    }
    fileConn = usable(fileConn, "warehouse-ingest-file");
    bronzeConn = t.bronze() == null ? null : usable(bronzeConn, "warehouse-ingest-bronze");
    Connection c = fileConn;
    c.setAutoCommit(false);
    BronzeLoad bronze = null;
    try {
      // the COMMIT need not wait for the WAL flush: the file's rows and its ledger row are one
      // transaction, so a crash can only lose both (the file is then simply loaded by the next run)
      Db.execute(c, "SET LOCAL synchronous_commit = off");
      LockTimeouts.setLocal(c, t.rules().lockTimeoutSeconds());
      if (!alreadyCommitted(c, name, plan)) {
        if (plan.replace()) {
          deleteOldVersion(c, name, plan.fileId());
        }
        bronze = bronzeConn == null ? null
            : new BronzeLoad(bronzeConn, t.bronze(), plan.fileId(), t.rules().lockTimeoutSeconds());
        load(file, name, plan, c, bronze);
      } else {
        c.rollback(); // a retried call: an earlier attempt committed this file
      }
    } catch (Exception | Error e) {
      undo(c, bronze, e);
      if (LockTimeouts.isLockTimeout(e)) {
        throw LockTimeouts.explain(e, name + "'s tables", t.rules().lockTimeoutSeconds(),
            "another session holds a lock on them; the file's transaction rolled back");
      }
      throw e;
    }
    out.output(name);
  }

  /** Reads the file into its tables, then publishes it or refuses it. */
  private void load(FileIO.ReadableFile file, String name, LoadSinascFiles.PlannedLoad plan, Connection c,
      BronzeLoad bronze) throws Exception {
    CopySink sink = new CopySink(c, bronze, name, t.fact(), t.rejects(), copyStatements);
    SinascFileReader.Outcome o;
    try {
      o = SinascFileReader.readFile(file, name, plan.fileId(), t.rules(), plan.sha256(), t.bronze() != null, sink);
      sink.flushRejects();
      sink.finish(); // every chunk COPYed: the connection is this thread's again
    } finally {
      sink.abort();
    }
    linesRead.inc(o.lines);
    rowsTyped.inc(o.typed);
    rowsRejected.inc(o.rejected);
    String refusal = refusal(o, sink);
    if (refusal != null) {
      refuse(c, bronze, name, plan, o, refusal);
    } else {
      publish(c, bronze, name, plan, o);
    }
  }

  /** The file-level error, or the reject ratio over the limit, or null. */
  private String refusal(SinascFileReader.Outcome o, CopySink sink) {
    double max = t.rules().maxRejectRatio();
    if (o.error == null && o.lines > 0 && (double) o.rejected / o.lines > max) {
      return String.format(Locale.ROOT, "%d of %d lines rejected (%.2f%% > --maxRejectRatio %.2f%%); top reasons: %s",
          o.rejected, o.lines, 100.0 * o.rejected / o.lines, 100.0 * max, LoadSinascFiles.topReasons(sink.kinds));
    }
    return o.error;
  }

  /** ROLLBACK of the file's rows; its summary row (autocommit) says why. */
  private void refuse(Connection c, BronzeLoad bronze, String name, LoadSinascFiles.PlannedLoad plan,
      SinascFileReader.Outcome o, String refusal) throws SQLException {
    c.rollback();
    if (bronze != null) {
      bronze.discard();
    }
    filesFailed.inc();
    filesRolledBack.inc();
    c.setAutoCommit(true);
    summary(c, name, plan.fileId(), o, refusal);
  }

  /**
   * Attaches the bronze partition, writes the ledger and summary rows, proves the run lock still held,
   * and COMMITs: the file appears whole.
   */
  private void publish(Connection c, BronzeLoad bronze, String name, LoadSinascFiles.PlannedLoad plan,
      SinascFileReader.Outcome o) throws SQLException {
    filesParsed.inc();
    if (bronze != null) {
      bronze.attach(c);
    }
    ledger(c, name, plan, o);
    summary(c, name, plan.fileId(), o, null);
    t.guard().check(c); // the run lock still held: else nothing of this file is published
    c.commit();
    filesCommitted.inc();
  }

  /** After a failure: the file's transaction rolled back, its load table gone, its sessions dropped. */
  private void undo(Connection c, BronzeLoad bronze, Throwable e) {
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
  }

  private boolean alreadyCommitted(Connection c, String name, LoadSinascFiles.PlannedLoad plan) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT file_id, sha256 FROM " + t.ledger()
        + " WHERE file_name = ? FOR UPDATE")) {
      ps.setString(1, name);
      try (ResultSet rs = ps.executeQuery()) {
        // a new file (no planned sha: its file_id was drawn for this run) is committed when its id is there
        return rs.next() && rs.getLong(1) == plan.fileId()
            && (plan.sha256() == null || rs.getString(2).equals(plan.sha256()));
      }
    }
  }

  /** The fact, reject and ledger rows of a replaced file (its bronze partition is swapped at attach). */
  private void deleteOldVersion(Connection c, String name, long fileId) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + t.fact() + " WHERE birth_id >= ? AND birth_id < ?")) {
      ps.setLong(1, fileId * SinascFileReader.ID_BASE);
      ps.setLong(2, (fileId + 1) * SinascFileReader.ID_BASE);
      ps.executeUpdate();
    }
    for (String table : List.of(t.rejects(), t.ledger())) {
      try (PreparedStatement ps = c.prepareStatement("DELETE FROM " + table + " WHERE file_name = ?")) {
        ps.setString(1, name);
        ps.executeUpdate();
      }
    }
  }

  private void ledger(Connection c, String name, LoadSinascFiles.PlannedLoad plan, SinascFileReader.Outcome o)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t.ledger() + " (file_id, file_name, sha256, "
        + "bytes, lines_read, rows_loaded, rows_rejected, loaded_at, replaced_count) VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?)")) {
      ps.setLong(1, plan.fileId());
      ps.setString(2, name);
      ps.setString(3, o.sha256);
      ps.setLong(4, plan.bytes());
      ps.setLong(5, o.lines);
      ps.setLong(6, o.typed);
      ps.setLong(7, o.rejected);
      ps.setInt(8, plan.replace() ? 1 : 0);
      ps.executeUpdate();
    }
  }

  private void summary(Connection c, String name, long fileId, SinascFileReader.Outcome o, String error)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("INSERT INTO " + t.summaries()
        + " (file_name, file_id, lines_read, rows_loaded, rows_rejected, sha256, error, records_deleted) "
        + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, name);
      ps.setLong(2, fileId);
      ps.setLong(3, o.lines);
      ps.setLong(4, o.typed);
      ps.setLong(5, o.rejected);
      ps.setString(6, o.sha256);
      ps.setString(7, error);
      ps.setLong(8, o.deleted);
      ps.executeUpdate();
    }
  }
}
