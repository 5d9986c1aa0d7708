package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.dedupe.DedupePlan.TablePlan;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * The run's work tables, named per run ({@link DedupePlan#KEEP_KIND}, {@link DedupePlan#COPY_KIND}):
 * the snapshot of each table's id range, the survivor-id table the pipeline fills, and the backup copy
 * written server-side on worker connections while the pipeline runs. {@link #close} drops every work
 * table on a fresh connection (the run's own may be gone); SIGTERM does the same.
 */
final class WorkTables implements AutoCloseable {
  private static final String PIPELINE = "dedupe";

  /** A finished backup copy: its rows and how long writing and checksumming it took. */
  record BackupCopy(RowSet rows, long nanos) {}

  private final JdbcConfig db;
  private final List<TableRef> created = new ArrayList<>();
  private final Map<TableRef, CompletableFuture<BackupCopy>> copies = new LinkedHashMap<>();
  private final SqlWorkers workers;

  private WorkTables(JdbcConfig db, int threads) {
    this.db = db;
    this.workers = new SqlWorkers(db, "warehouse-dedupe-backup", threads);
  }

  /** Work tables for this run; SIGTERM drops them too. */
  static WorkTables open(JdbcConfig db, RunReport report) {
    WorkTables w = new WorkTables(db, Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors())));
    report.onCancel("drop dedupe work tables", () -> Staging.dropQuietly(db, PIPELINE, w.tables()));
    return w;
  }

  /** Work tables of a run that did not finish (call while holding the run lock): said and dropped. */
  static void dropLeftovers(Connection c, DedupePlan plan, Progress progress) throws SQLException {
    for (TablePlan t : plan.tables()) {
      for (String kind : List.of(DedupePlan.KEEP_KIND, DedupePlan.COPY_KIND)) {
        Staging.dropLeftovers(c, Staging.leftovers(c, t.table(), kind), progress, PIPELINE);
      }
    }
  }

  private synchronized List<TableRef> tables() {
    return List.copyOf(created);
  }

  private synchronized void created(TableRef table) {
    created.add(table);
  }

  /** Every table's {@link #snapshot}, in the plan's order. */
  List<Snapshot> snapshots(Connection c, DedupePlan plan) throws SQLException {
    List<Snapshot> snapshots = new ArrayList<>();
    for (TablePlan t : plan.toRead()) {
      snapshots.add(snapshot(c, t, plan.lockTimeoutSeconds()));
    }
    return snapshots;
  }

  /**
   * The id range the pipeline reads. Taken under a short SHARE lock, which waits for in-flight inserts
   * to commit: every row with id ≤ max is then visible, and every later insert gets a higher id. A table
   * whose ids are not guaranteed unique is checked for duplicate ids here (one scan), before any work.
   * Then the (empty) survivor-id table is created.
   */
  Snapshot snapshot(Connection c, TablePlan t, int lockTimeoutSeconds) throws SQLException {
    Snapshot s = Db.inTransaction(c, () -> {
      LockTimeouts.setLocal(c, lockTimeoutSeconds);
      LockTimeouts.execute(c, "LOCK TABLE " + t.table().quoted() + " IN SHARE MODE", t.table().toString(),
          lockTimeoutSeconds, "the snapshot waits for inserts in progress to commit");
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT coalesce(min(id), 0), coalesce(max(id), 0), min(id) IS NULL FROM "
              + t.table().quoted())) {
        rs.next();
        return new Snapshot(t, rs.getLong(1), rs.getLong(2), rs.getBoolean(3));
      }
    });
    if (!t.idUnique()) {
      refuseDuplicateIds(c, s);
    }
    created(t.keepTable());
    Db.execute(c, "CREATE UNLOGGED TABLE " + t.keepTable().quoted() + " (id bigint NOT NULL)");
    return s;
  }

  private static void refuseDuplicateIds(Connection c, Snapshot s) throws SQLException {
    TableRef table = s.table().table();
    long duplicateIds = Db.queryLong(c, "SELECT count(*) FROM (SELECT id FROM " + table.quoted() + " WHERE id <= "
        + s.maxId() + " GROUP BY id HAVING count(*) > 1) d");
    if (duplicateIds > 0) {
      throw new WarehouseException("table " + table + ": column id is not unique (" + duplicateIds + " id value(s) "
          + "appear more than once), and dedupe tells rows apart by id: give those rows new ids (e.g. UPDATE … SET id = "
          + "nextval(…)) or add a unique id column, then re-run; nothing changed");
    }
  }

  /**
   * Starts the backup copies, largest range first, on worker connections: every snapshot row (id ≤ max)
   * as the exported snapshot {@code readSnapshot} sees it — the state the pipeline reads — into the
   * table's copy, server-side ({@code CREATE TABLE AS}: written through PostgreSQL's small bulk-write
   * ring, not shared_buffers), in one transaction that takes no lock stronger than a reader's; then the
   * copy's count and checksum. The copies run alongside the pipeline.
   */
  void startBackups(List<Snapshot> snapshots, String readSnapshot) {
    List<Snapshot> bySize = new ArrayList<>(snapshots);
    bySize.sort(Comparator.comparingLong((Snapshot s) -> s.maxId() - s.minId()).reversed());
    for (Snapshot s : bySize) {
      TableRef copy = s.table().copyTable();
      created(copy);
      copies.put(s.table().table(), workers.submit("backup copy", sc -> {
        long started = System.nanoTime();
        Db.inTransaction(sc, () -> {
          Db.execute(sc, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
          Db.execute(sc, "SET TRANSACTION SNAPSHOT " + Sql.literal(readSnapshot));
          return DedupeSql.update(sc, "CREATE TABLE " + copy.quoted() + " WITH (autovacuum_enabled = false) AS "
              + "SELECT * FROM " + s.table().table().quoted() + " WHERE id <= " + s.maxId());
        });
        RowSet rows = DedupeSql.countAndChecksum(sc, copy, Long.MIN_VALUE, Long.MAX_VALUE);
        return new BackupCopy(rows, System.nanoTime() - started);
      }));
    }
  }

  /** The table's finished backup copy (waits for it); its failure in one line. */
  BackupCopy backup(TablePlan t) throws Exception {
    try {
      return SqlWorkers.join(copies.get(t.table()));
    } catch (Exception e) {
      if (ConnectionLoss.isConnectionLoss(e)) {
        throw ConnectionLoss.explain(e, "writing the backup copy " + t.copyTable());
      }
      throw e;
    }
  }

  /** Drops every work table of this run that still exists, on a fresh connection (a failure to drop is one line, never thrown). */
  @Override
  public void close() {
    workers.close();
    Staging.dropQuietly(db, PIPELINE, tables());
  }
}
