package org.warehouse.transforms.ingest;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.UUID;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * One file's bronze rows: a table of their own on the bronze connection, created in that connection's
 * transaction (so a failure before {@link #commit} leaves nothing), committed when the file is read,
 * attached as the file's partition by the file's transaction.
 */
final class BronzeLoad {
  final Connection cb;
  private final TableRef bronze;
  private final long fileId;
  final TableRef table;
  final String copySql;
  private boolean committed;

  BronzeLoad(Connection cb, TableRef bronze, long fileId, int lockTimeoutSeconds) throws SQLException {
    this.cb = cb;
    this.bronze = bronze;
    this.fileId = fileId;
    String token = UUID.randomUUID().toString().substring(0, 8);
    this.table = bronze.withSuffix("__load_" + fileId + "_" + token);
    cb.setAutoCommit(false);
    // like the file's transaction: its COMMIT comes later in the WAL, so it cannot outlive this one
    Db.execute(cb, "SET LOCAL synchronous_commit = off");
    LockTimeouts.setLocal(cb, lockTimeoutSeconds);
    Db.execute(cb, "CREATE TABLE " + table.quoted() + " (LIKE " + bronze.quoted() + ", CHECK (file_id = "
        + fileId + "))");
    Db.execute(cb, "COMMENT ON TABLE " + table.quoted() + " IS " + Sql.literal(LoadSinascFiles.LOADING_COMMENT));
    this.copySql = "COPY " + table.quoted() + " (" + String.join(", ", LoadSinascFiles.BRONZE_COLUMNS)
        + ") FROM STDIN";
  }

  /** Commits the rows COPYed so far (the table is not part of bronze yet). */
  void commit() throws SQLException {
    cb.commit();
    cb.setAutoCommit(true);
    committed = true;
  }

  /**
   * In the file's transaction {@code c}: drops the file's previous partition (a replaced file; a
   * moment's exclusive lock on bronze, released by the commit that follows), attaches this table and
   * gives it the partition's name.
   */
  void attach(Connection c) throws SQLException {
    commit();
    for (String old : LoadSinascFiles.bronzePartitionsOf(c, bronze, fileId)) {
      Db.execute(c, "DROP TABLE " + old);
    }
    TableRef part = LoadSinascFiles.bronzePartition(bronze, fileId);
    Db.execute(c, "ALTER TABLE " + bronze.quoted() + " ATTACH PARTITION " + table.quoted()
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
