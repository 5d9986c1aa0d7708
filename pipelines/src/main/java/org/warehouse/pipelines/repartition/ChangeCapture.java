package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * The online mode's change capture: a row trigger on the original ({@code <table>__repartition_capture},
 * never mistaken for a user's) writes the key and the partition column's value of every row version
 * INSERTed, UPDATEd (old and new) or DELETEd into the change log; catch-up rounds apply the logged keys to the new table (delete those
 * keys, insert the original's current rows of them). The trigger does nothing but insert into the log,
 * so one left by a killed run is harmless until the next run drops it.
 *
 * <p>A round marks the log rows it takes with its number ({@code UPDATE … SET round = n WHERE round IS
 * NULL}): rows of transactions not yet committed are invisible to it and stay for a later round, so no
 * change is missed whatever the commit order. The keys of rounds after a given one are what changed
 * since then ({@link #collectChangedSince}).
 */
public final class ChangeCapture {
  /** Session temp table of one round's keys. */
  static final String DELTA = "pg_temp.repartition_delta";
  /** Session temp table of the changed keys with the months their logged row versions fall in. */
  static final String LOCATED = "pg_temp.repartition_located";
  /** The log's column of the partition column's value (of the row version the entry names). */
  static final String PART = "\"__partition_value\"";
  /** The log's round of a TRUNCATE's mark (rounds count from 1; a mark is never taken by one). */
  static final int TRUNCATED = -1;

  private final RepartitionPlan plan;
  private final RowKey key;
  private int rounds;

  public ChangeCapture(RepartitionPlan plan) {
    this.plan = plan;
    this.key = plan.shape().rowKey();
  }

  /** The change log and the trigger's function (nothing on the original yet). */
  public List<String> createSql() {
    String log = plan.changeLog().quoted();
    String cols = key.quoted() + ", " + PART;
    String col = Sql.quoteIdent(plan.column());
    List<String> out = new ArrayList<>();
    out.add("CREATE UNLOGGED TABLE " + log + " (round integer, " + key.definitions() + ", " + PART + " "
        + plan.shape().kind().sqlType() + ")");
    out.add("CREATE INDEX ON " + log + " (round)");
    out.add("CREATE FUNCTION " + plan.captureFunction() + "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
        + "SET search_path = pg_catalog, pg_temp AS $capture$ BEGIN "
        + "IF TG_OP = 'TRUNCATE' THEN INSERT INTO " + log + " (round) VALUES (" + TRUNCATED + "); RETURN NULL; END IF; "
        + "IF TG_OP <> 'INSERT' THEN INSERT INTO " + log + " (" + cols + ") VALUES (" + key.quoted("OLD") + ", OLD."
        + col + "); END IF; "
        + "IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (" + key.quoted("NEW") + ", NEW." + col + ") IS DISTINCT FROM ("
        + key.quoted("OLD") + ", OLD." + col + ")) THEN INSERT INTO " + log + " (" + cols + ") VALUES ("
        + key.quoted("NEW") + ", NEW." + col + "); END IF; RETURN NULL; END $capture$");
    return out;
  }

  /**
   * The triggers themselves: from their commit on, every row written to the original is logged, and a
   * TRUNCATE (which row triggers do not see) leaves a mark that fails the run at its next round.
   */
  public List<String> triggerSql() {
    return List.of("CREATE TRIGGER " + Sql.quoteIdent(RepartitionPlan.captureOf(plan.table())) + " AFTER INSERT OR "
        + "UPDATE OR DELETE ON " + plan.table().quoted() + " FOR EACH ROW EXECUTE FUNCTION " + plan.captureFunction() + "()",
        "CREATE TRIGGER " + Sql.quoteIdent(RepartitionPlan.truncateCaptureOf(plan.table())) + " AFTER TRUNCATE ON "
        + plan.table().quoted() + " FOR EACH STATEMENT EXECUTE FUNCTION " + plan.captureFunction() + "()");
  }

  /**
   * Fails when the original was truncated since the capture began: a TRUNCATE cannot be caught up key by
   * key, and switching would bring back the rows it removed.
   */
  private void refuseIfTruncated(Connection c) throws SQLException {
    if (Db.queryLong(c, "SELECT count(*) FROM " + plan.changeLog().quoted() + " WHERE round = " + TRUNCATED) > 0) {
      throw new WarehouseException(plan.table() + " was truncated during the run, which cannot be caught up row by row; "
          + "nothing changed (the table holds what the TRUNCATE left): run repartition again");
    }
  }

  /** Trigger, function and log, in this order (the trigger never outlives its log). */
  public static List<String> dropSql(RepartitionPlan plan) {
    return List.of("DROP FUNCTION IF EXISTS " + plan.captureFunction() + "() CASCADE",
        "DROP TABLE IF EXISTS " + plan.changeLog().quoted());
  }

  /**
   * Drops a capture trigger (and its function) that a killed run left on {@code table}, saying so;
   * its change log is one of the run's work tables, dropped with them afterwards.
   */
  public static void dropLeftover(Connection c, TableRef table, int lockTimeoutSeconds, Progress progress)
      throws SQLException {
    if (exists(c, table)) {
      progress.say("repartition: dropping the capture trigger %s on %s, left by a run that did not finish",
          RepartitionPlan.captureOf(table), table);
      drop(c, table, lockTimeoutSeconds);
    }
  }

  /** Drops the capture trigger on {@code table} and its function, if there (waits at most the lock timeout). */
  public static void drop(Connection c, TableRef table, int lockTimeoutSeconds) throws SQLException {
    if (!exists(c, table)) {
      return;
    }
    Db.inTransaction(c, () -> {
      LockTimeouts.setLocal(c, lockTimeoutSeconds);
      LockTimeouts.execute(c, "DROP FUNCTION " + Sql.quoteIdent(table.schema()) + "."
          + Sql.quoteIdent(RepartitionPlan.captureOf(table)) + "() CASCADE", table.toString(), lockTimeoutSeconds,
          "to drop the capture trigger; a transaction is using the table");
      return null;
    });
  }

  private static boolean exists(Connection c, TableRef table) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM pg_proc WHERE proname = " + Sql.literal(RepartitionPlan.captureOf(table))
        + " AND pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = " + Sql.literal(table.schema()) + ")") > 0;
  }

  /** Creates, on this connection, the temporary tables that hold a round's keys (once per connection). */
  public void prepare(Connection c) throws SQLException {
    Db.execute(c, "CREATE TEMP TABLE IF NOT EXISTS repartition_delta (" + key.definitions() + ") ON COMMIT DELETE ROWS");
    Db.execute(c, "CREATE TEMP TABLE IF NOT EXISTS repartition_located (" + key.definitions() + ", month date) "
        + "ON COMMIT DELETE ROWS");
  }

  /** The rounds applied so far. */
  public int rounds() {
    return rounds;
  }

  /**
   * One catch-up round in the caller's open transaction: takes the logged keys visible now, deletes
   * them from the new table and inserts the original's current rows of them. Returns the keys applied.
   */
  public long applyRound(Connection c) throws SQLException {
    refuseIfTruncated(c);
    int round = ++rounds;
    long keys = update(c, "WITH m AS (UPDATE " + plan.changeLog().quoted() + " SET round = " + round
        + " WHERE round IS NULL RETURNING " + key.quoted() + ") INSERT INTO " + DELTA + " SELECT DISTINCT "
        + key.quoted() + " FROM m");
    if (keys > 0) {
      Db.execute(c, "ANALYZE " + DELTA);
      Db.execute(c, "DELETE FROM " + plan.staging().quoted() + " n USING " + DELTA + " d WHERE " + key.equal("n", "d"));
      Db.execute(c, "INSERT INTO " + plan.staging().quoted() + " (" + plan.quotedColumns() + ") SELECT "
          + plan.quotedColumns() + " FROM " + plan.table().quoted() + " o WHERE (" + key.quoted("o") + ") IN (SELECT "
          + key.quoted() + " FROM " + DELTA + ")");
    }
    return keys;
  }

  /**
   * The last round, under the switch's lock: as {@link #applyRound}, but the new table's rows of its keys
   * are deleted only in the partitions of the months logged for them (see {@link #monthsChanged}), by
   * index lookups on those plain partitions, never by a scan of the whole table.
   */
  public long applyLastRound(Connection c) throws SQLException {
    refuseIfTruncated(c);
    int round = ++rounds;
    Db.execute(c, "WITH m AS (UPDATE " + plan.changeLog().quoted() + " SET round = " + round + " WHERE round IS NULL "
        + "RETURNING " + key.quoted() + ", " + PART + ") INSERT INTO " + LOCATED + " SELECT DISTINCT " + key.quoted()
        + ", " + plan.shape().kind().month(PART) + " FROM m");
    long keys = update(c, "INSERT INTO " + DELTA + " SELECT DISTINCT " + key.quoted() + " FROM " + LOCATED);
    if (keys > 0) {
      Db.execute(c, "ANALYZE " + DELTA);
      Db.execute(c, "ANALYZE " + LOCATED);
      for (Map.Entry<String, List<LocalDate>> e : byPartition(monthsChanged(c)).entrySet()) {
        Db.execute(c, "DELETE FROM " + plan.table().withName(e.getKey()).quoted() + " t USING (SELECT DISTINCT "
            + key.quoted() + " FROM " + LOCATED + " l WHERE " + monthIn(e.getValue()) + ") p WHERE " + key.equal("t", "p"));
      }
      Db.execute(c, "INSERT INTO " + plan.staging().quoted() + " (" + plan.quotedColumns() + ") SELECT "
          + plan.quotedColumns() + " FROM " + plan.table().quoted() + " o WHERE (" + key.quoted("o") + ") IN (SELECT "
          + key.quoted() + " FROM " + DELTA + ")");
    }
    Db.execute(c, "DELETE FROM " + LOCATED);
    return keys;
  }

  /** The partition of each logged month, with the months it holds. */
  public Map<String, List<LocalDate>> byPartition(List<LocalDate> months) {
    Map<String, List<LocalDate>> out = new TreeMap<>();
    for (LocalDate m : months) {
      out.computeIfAbsent(plan.partitionOf(m), k -> new ArrayList<>()).add(m);
    }
    return out;
  }

  /** {@code l.month} is one of {@code months} (null: NULL). */
  private static String monthIn(List<LocalDate> months) {
    List<String> in = new ArrayList<>();
    months.stream().filter(m -> m != null).forEach(m -> in.add("'" + m + "'"));
    return "(" + (in.isEmpty() ? "false" : "l.month IN (" + String.join(", ", in) + ")")
        + (months.contains(null) ? " OR l.month IS NULL" : "") + ")";
  }

  /** {@code t}'s key has a logged change no round has taken yet (a condition on alias {@code t}). */
  public String pending(String alias) {
    return "EXISTS (SELECT 1 FROM " + plan.changeLog().quoted() + " l WHERE l.round IS NULL AND "
        + key.equal("l", alias) + ")";
  }

  /**
   * Fills this transaction's key table with the distinct keys taken by rounds after {@code round} (what
   * changed since then, this transaction's own round included); returns their number. {@link #inDelta}
   * selects their rows.
   */
  public long collectChangedSince(Connection c, int round) throws SQLException {
    Db.execute(c, "DELETE FROM " + DELTA);
    long keys = update(c, "INSERT INTO " + DELTA + " SELECT DISTINCT " + key.quoted() + " FROM "
        + plan.changeLog().quoted() + " WHERE round > " + round);
    Db.execute(c, "ANALYZE " + DELTA);
    Db.execute(c, "INSERT INTO " + LOCATED + " SELECT DISTINCT " + key.quoted() + ", "
        + plan.shape().kind().month(PART) + " FROM " + plan.changeLog().quoted() + " WHERE round > " + round);
    return keys;
  }

  /**
   * The months of the row versions logged for the keys of {@link #collectChangedSince} (null: NULL): the
   * new table's rows of those keys can only be in those months' partitions, since a round deletes every
   * row of its keys and inserts the original's current version, whose value the key's last change logged.
   */
  public List<LocalDate> monthsChanged(Connection c) throws SQLException {
    List<LocalDate> out = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT DISTINCT month FROM " + LOCATED)) {
      while (rs.next()) {
        out.add(rs.getDate(1) == null ? null : rs.getDate(1).toLocalDate());
      }
    }
    return out;
  }

  /**
   * The new table's rows (as {@code tid} = partition oid, {@code r} = row text) of the changed keys
   * logged in {@code months}, read from {@code partition} by one index lookup per key.
   */
  public String locatedIn(TableRef partition, List<LocalDate> months) {
    return "SELECT x.tid, x.r FROM (SELECT DISTINCT " + key.quoted() + " FROM " + LOCATED + " l WHERE " + monthIn(months)
        + ") p CROSS JOIN LATERAL (SELECT t.tableoid AS tid, t::text AS r FROM " + partition.quoted() + " t WHERE "
        + key.equal("t", "p") + " OFFSET 0) x";
  }

  /** {@code alias}'s key is in this transaction's key table (a condition). */
  public String inDelta(String alias) {
    return "(" + key.quoted(alias) + ") IN (SELECT " + key.quoted() + " FROM " + DELTA + ")";
  }

  private static long update(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement()) {
      return st.executeLargeUpdate(sql);
    }
  }
}
