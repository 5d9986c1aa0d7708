package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * {@code --rollback=true}: puts the original back under the table's name, if the partitioned table
 * still holds exactly the backup's rows (count + checksum, both tables under a SHARE lock); otherwise
 * refuses, naming both. The original returns with its OID; the views and foreign keys that followed the
 * partitioned table follow the original back.
 */
final class Rollback {
  private final Connection c;
  private final TableRef table;
  private final TableRef backup;
  private final int lockTimeoutSeconds;

  Rollback(Connection c, TableRef table, int lockTimeoutSeconds) {
    this.c = c;
    this.table = table;
    this.backup = RepartitionPlan.backupOf(table);
    this.lockTimeoutSeconds = lockTimeoutSeconds;
  }

  void run(PipelineLock lock, Progress progress, RunReport report) throws SQLException {
    if (!Db.tableExists(c, backup)) {
      throw new WarehouseException("nothing to roll back: " + backup + " does not exist (no repartition of " + table
          + " to undo, or its backup was dropped)");
    }
    if (Db.queryLong(c, "SELECT count(*) FROM pg_partitioned_table WHERE partrelid = to_regclass("
        + Sql.literal(table.quoted()) + ")") == 0) {
      throw new WarehouseException("nothing to roll back: " + table + " is not a partitioned table");
    }
    String both = table.quoted() + ", " + backup.quoted();
    List<String> validate = new ArrayList<>();
    TableChecksum rows = Db.inTransaction(c, () -> {
      LockTimeouts.setLocal(c, lockTimeoutSeconds);
      LockTimeouts.execute(c, "LOCK TABLE " + both + " IN SHARE MODE", table.toString(), lockTimeoutSeconds,
          "a transaction is writing it");
      TableChecksum now = TableChecksum.of(c, table);
      TableChecksum before = TableChecksum.of(c, backup);
      if (!now.equals(before)) {
        throw new WarehouseException("not rolled back: " + table + " changed since the repartition (" + now
            + "; the backup " + backup + " has " + before + "), and a rollback would lose that; copy the new rows "
            + "into the backup first, or keep the partitioned table and drop the backup; nothing changed");
      }
      LockTimeouts.execute(c, "LOCK TABLE " + both + " IN ACCESS EXCLUSIVE MODE", table.toString(), lockTimeoutSeconds,
          "long queries are reading it");
      Dependents dependents = Dependents.read(c, table);
      for (String sql : sql(dependents)) {
        Db.execute(c, sql);
      }
      lock.check(c);
      validate.addAll(dependents.validateSql());
      return before;
    });
    for (String sql : validate) {
      Db.execute(c, sql);
    }
    progress.say("repartition: rolled back: %s is the original, unpartitioned table again (%s rows); the "
        + "partitioned one was dropped", table, Progress.rows(rows.rows()));
    report.table(table.toString(), rows.rows(), "rolled back");
  }

  /**
   * Sequences owned by the partitioned table's columns go back to the original's; the partitioned table
   * steps aside, the original takes back its name, the views and foreign keys that followed the
   * partitioned table follow it back; the partitioned table is dropped and the original's indexes get
   * their names back.
   */
  private List<String> sql(Dependents dependents) throws SQLException {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, String> s : CatalogReader.pairs(c, CatalogReader.OWNED_SEQUENCES, oidOf(table)).entrySet()) {
      out.add("ALTER SEQUENCE " + s.getKey() + " OWNED BY " + backup.quoted() + "." + Sql.quoteIdent(s.getValue()));
    }
    TableRef aside = Staging.name(table, "repartition_rollback", Staging.runId());
    out.add("ALTER TABLE " + table.quoted() + " RENAME TO " + Sql.quoteIdent(aside.name()));
    out.add("ALTER TABLE " + backup.quoted() + " RENAME TO " + Sql.quoteIdent(table.name()));
    out.addAll(dependents.followSql());
    out.add("DROP TABLE " + aside.quoted());
    for (String name : CatalogReader.strings(c, "SELECT i.relname FROM pg_index x JOIN pg_class i "
        + "ON i.oid = x.indexrelid WHERE x.indrelid = ? ORDER BY 1", oidOf(backup))) {
      if (name.endsWith(RepartitionPlan.BACKUP_INDEX_SUFFIX)) {
        out.add("ALTER INDEX " + table.withName(name).quoted() + " RENAME TO "
            + Sql.quoteIdent(name.substring(0, name.length() - RepartitionPlan.BACKUP_INDEX_SUFFIX.length())));
      }
    }
    return out;
  }

  private long oidOf(TableRef t) throws SQLException {
    return Db.queryLong(c, "SELECT to_regclass(" + Sql.literal(t.quoted()) + ")::oid::bigint");
  }
}
