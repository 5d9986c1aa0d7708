package org.warehouse.pipelines.dedupe;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.Map;
import org.warehouse.pipelines.dedupe.DedupePublish.Txn;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * The second half of {@link DedupePublish}'s transaction, under the strong lock: the rows inserted during
 * the run reconciled with the survivor rule, the contents replaced (TRUNCATE path), the UNIQUE constraint,
 * the validation, the backup's metadata (what {@code --rollback} checks against), ANALYZE.
 */
final class ReconcileAndValidate {
  private static final ObjectMapper JSON = new ObjectMapper();

  private ReconcileAndValidate() {}

  static void run(Connection c, Txn x, RowSet backupCopy) throws SQLException {
    if (x.inserted.rows() > 0) {
      reconcileInserted(c, x);
    }
    if (x.truncating()) {
      Db.execute(c, "TRUNCATE " + x.q);
      DedupeSql.update(c, "INSERT INTO " + x.q + " OVERRIDING SYSTEM VALUE SELECT * FROM " + x.rows);
    }
    DedupeTarget t = x.plan.target();
    if (!DedupeSql.constraintExists(c, t.table(), t.constraintName())) {
      String idx = Sql.quoteIdent(t.constraintName());
      Db.execute(c, "CREATE UNIQUE INDEX " + idx + " ON " + x.q + " (" + t.quotedKey() + ")");
      Db.execute(c, "ALTER TABLE " + x.q + " ADD CONSTRAINT " + idx + " UNIQUE USING INDEX " + idx);
      x.constraintAdded = true;
    }
    validate(c, x);
    describeBackup(c, x, backupCopy);
    Db.execute(c, "ANALYZE " + x.q);
  }

  /**
   * Candidates of the keys written since the snapshot (those rows + the survivors of their keys), ranked by
   * the survivor rule; the losers leave. Losers inserted after the snapshot go to the backup (snapshot rows
   * are all there already).
   */
  private static void reconcileInserted(Connection c, Txn x) throws SQLException {
    DedupeTarget t = x.plan.target();
    String keys = t.quotedKey();
    long snapshotMax = x.snapshot.maxId();
    String cols = "t.id, " + DedupeSql.prefixed("t.", t.naturalKey()) + ", t." + Sql.quoteIdent(t.latest());
    String order = Sql.quoteIdent(t.latest()) + " DESC, id DESC";
    Db.execute(c, "DROP TABLE IF EXISTS pg_temp.dedupe_losers");
    Db.execute(c, "CREATE TEMP TABLE dedupe_losers ON COMMIT DROP AS WITH nk AS (SELECT DISTINCT " + keys
        + " FROM " + x.q + " WHERE id > " + snapshotMax + " AND " + t.keyNotNull("") + "), cand AS (SELECT " + cols
        + " FROM " + x.q + " t WHERE t.id > " + snapshotMax + " AND " + t.keyNotNull("t.") + " UNION ALL SELECT "
        + cols + " FROM " + x.plan.keepTable().quoted() + " k JOIN " + x.q + " t ON t.id = k.id JOIN nk USING (" + keys
        + ")) SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY " + keys + " ORDER BY " + order
        + ") AS rn FROM cand) r WHERE rn > 1");
    x.removedInserted = DedupeSql.update(c, "INSERT INTO " + t.backupTable().quoted() + " SELECT t.* FROM " + x.q
        + " t JOIN pg_temp.dedupe_losers l ON l.id = t.id WHERE t.id > " + snapshotMax);
    long removedSurvivors = DedupeSql.update(c, "DELETE FROM " + x.rows + " AS t USING pg_temp.dedupe_losers l "
        + "WHERE t.id = l.id") - x.removedInserted;
    x.removedSnapshot += removedSurvivors;
  }

  /** Inside the transaction (one scan): any surprise rolls everything back. */
  private static void validate(Connection c, Txn x) throws SQLException {
    DedupeTarget t = x.plan.target();
    long groups;
    long dupKeys;
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE nk), 0), count(*), "
            + "count(*) FILTER (WHERE n > 1 AND NOT nk) FROM (SELECT count(*) AS n, bool_or(" + t.keyAnyNull()
            + ") AS nk FROM " + x.q + " GROUP BY " + t.quotedKey() + ", CASE WHEN " + t.keyAnyNull() + " THEN id END) g")) {
      rs.next();
      x.rowsAfter = rs.getLong(1);
      x.nullKeyRows = rs.getLong(2);
      groups = rs.getLong(3);
      dupKeys = rs.getLong(4);
    }
    long distinctKeys = groups - x.nullKeyRows;
    long removed = x.removedSnapshot + x.removedInserted;
    long before = x.snapshotRows + x.inserted.rows();
    // (The backup copy's row count was checked against the pipeline's before this transaction.)
    if (dupKeys != 0 || x.rowsAfter != distinctKeys + x.nullKeyRows || x.rowsAfter + removed != before
        || !DedupeSql.constraintExists(c, t.table(), t.constraintName())) {
      throw new WarehouseException("table " + t.table() + ": validation failed (duplicate keys " + dupKeys + ", rows "
          + x.rowsAfter + " vs distinct keys " + distinctKeys + " + NULL-key rows " + x.nullKeyRows + ", rows + removed "
          + (x.rowsAfter + removed) + " vs rows before " + before + "); rolled back, table unchanged");
    }
  }

  /** The backup's JSON comment: what {@code --rollback} restores and verifies against. */
  private static void describeBackup(Connection c, Txn x, RowSet backupCopy) throws SQLException {
    DedupeTarget t = x.plan.target();
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("dedupeOf", t.table().toString());
    meta.put("constraint", t.constraintName());
    meta.put("constraintAdded", x.constraintAdded);
    meta.put("backup", "every row with id <= snapshotMaxId, plus the removed rows inserted after it");
    meta.put("snapshotMaxId", x.snapshot.maxId());
    meta.put("maxId", x.finalMaxId);
    meta.put("rowsBefore", x.snapshotRows + x.inserted.rows());
    meta.put("checksumBefore", backupCopy.plus(x.inserted).checksum().toPlainString());
    meta.put("removed", x.removedSnapshot + x.removedInserted);
    TableRef backup = t.backupTable();
    try {
      Db.execute(c, "COMMENT ON TABLE " + backup.quoted() + " IS " + Sql.literal(JSON.writeValueAsString(meta)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }
}
