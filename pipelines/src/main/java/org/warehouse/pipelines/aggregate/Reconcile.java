package org.warehouse.pipelines.aggregate;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import org.warehouse.pipelines.aggregate.FactSnapshot.FactStats;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Verifies the staging tables before anything is published, against the fact table as the run's
 * snapshot holds it: every table's total_births must add up to the fact rows it covers (national =
 * all rows; municipality + unmatched = all rows; region = state = all rows but the unmatched ones whose
 * code names no state; CNES = rows with a CNES code). Then adds each table's primary key, which also
 * proves no key was written twice.
 */
final class Reconcile {
  private Reconcile() {}

  static void verify(Connection c, AggregatePlan plan, FactStats stats, Set<Integer> stateCodes) throws SQLException {
    long unmatched = 0;
    long noState = 0;
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT code6, sum(total_births) FROM "
            + plan.staging().get(AggTable.UNMATCHED_MUNICIPALITY).quoted() + " GROUP BY code6")) {
      while (rs.next()) {
        int code6 = rs.getInt(1);
        long births = rs.getLong(2);
        unmatched += births;
        if (code6 < 100_000 || code6 > 999_999 || !stateCodes.contains(code6 / 10_000)) {
          noState += births;
        }
      }
    }
    for (AggTable t : AggTable.values()) {
      long expected;
      switch (t.geo()) {
        case NATIONAL: expected = stats.rows(); break;
        case REGION: case STATE: expected = stats.rows() - noState; break;
        case MUNICIPALITY: expected = stats.rows() - unmatched; break;
        case CNES: expected = stats.rowsWithCnes(); break;
        default: continue;
      }
      long actual = sumTotal(c, plan.staging().get(t));
      if (actual != expected) {
        throw new WarehouseException("reconciliation failed for " + t.tableName() + ": total_births sums to "
            + actual + " but the run's snapshot of the fact table has " + expected + " matching rows; "
            + "agg tables unchanged");
      }
    }
    for (AggTable t : AggTable.values()) {
      Db.execute(c, t.primaryKeySql(plan.staging().get(t)));
    }
  }

  private static long sumTotal(Connection c, TableRef t) throws SQLException {
    return Db.queryLong(c, "SELECT coalesce(sum(total_births), 0) FROM " + t.quoted());
  }
}
