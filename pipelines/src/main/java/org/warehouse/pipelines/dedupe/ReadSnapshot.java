package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;

/**
 * The one state of the tables that the pipeline's range reads and the backup copies all see: a
 * REPEATABLE READ transaction, opened after every table's id range was taken, that locks the tables
 * against DDL (ACCESS SHARE, as a reader) and exports its snapshot ({@code pg_export_snapshot()});
 * every reader imports it. It stays open until the reads and copies are done and must be closed before
 * the publish (whose strong lock would wait for it).
 */
final class ReadSnapshot implements AutoCloseable {
  private final Connection holder;
  private final String id;

  private ReadSnapshot(Connection holder, String id) {
    this.holder = holder;
    this.id = id;
  }

  static ReadSnapshot export(JdbcConfig db, List<Snapshot> tables, int lockTimeoutSeconds) throws SQLException {
    Connection c = db.connect("warehouse-dedupe-snapshot");
    try {
      List<String> names = new ArrayList<>();
      for (Snapshot s : tables) {
        names.add(s.table().table().quoted());
      }
      try {
        return new ReadSnapshot(c, Db.exportSnapshot(c, names, lockTimeoutSeconds));
      } catch (SQLException e) {
        if (LockTimeouts.isLockTimeout(e)) {
          throw LockTimeouts.explain(e, "the tables to dedupe", lockTimeoutSeconds,
              "an ALTER TABLE or another exclusive lock holds one");
        }
        throw e;
      }
    } catch (SQLException | RuntimeException e) {
      try {
        c.close();
      } catch (SQLException closing) {
        e.addSuppressed(closing);
      }
      throw e;
    }
  }

  /** The exported snapshot's identifier, for {@code SET TRANSACTION SNAPSHOT}. */
  String id() {
    return id;
  }

  /** Ends the transaction (it only read) and the connection; the snapshot is gone with it. */
  @Override
  public void close() throws SQLException {
    holder.close();
  }
}
