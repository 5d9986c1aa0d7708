package org.warehouse.testing;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.jdbc.Db;

/**
 * The independent oracle: PostgreSQL computes every agg table with its own GROUP BY
 * (scripts/sql/aggregate_oracle.sql) and each pipeline table must equal it (EXCEPT both ways empty).
 * Shared by the pipeline tests and the Flink cluster test.
 */
public final class AggregateOracle {
  private AggregateOracle() {}

  public static void computeOracle(Connection c) throws Exception {
    computeOracle(c, "fact_births");
  }

  /** The oracle computed from {@code factTable} (a copy of fact_births kept at some moment) instead. */
  public static void computeOracle(Connection c, String factTable) throws Exception {
    String sql = Files.readString(TestDatabase.repoRoot().resolve("scripts/sql/aggregate_oracle.sql"));
    if (!sql.contains(FROM_FACT)) {
      throw new IllegalStateException("aggregate_oracle.sql no longer reads '" + FROM_FACT + "'");
    }
    Db.execute(c, sql.replace(FROM_FACT, "FROM " + factTable + " f"));
  }

  private static final String FROM_FACT = "FROM fact_births f";

  /** Asserts every agg table equals its oracle; returns the row count per table. */
  public static List<Long> assertEveryTableMatchesOracle(Connection c) throws Exception {
    return assertEveryTableMatchesOracle(c, "fact_births");
  }

  /** Asserts every agg table equals the oracle computed from {@code factTable}; returns the row counts. */
  public static List<Long> assertEveryTableMatchesOracle(Connection c, String factTable) throws Exception {
    computeOracle(c, factTable);
    List<Long> rows = new ArrayList<>();
    for (AggTable t : AggTable.values()) {
      assertEquals(t.tableName() + ": rows the pipeline wrote that PostgreSQL did not compute", 0,
          rowsOnlyIn(c, t, t.tableName(), "oracle_" + t.tableName()));
      assertEquals(t.tableName() + ": rows PostgreSQL computed that the pipeline did not write", 0,
          rowsOnlyIn(c, t, "oracle_" + t.tableName(), t.tableName()));
      long n = Db.queryLong(c, "SELECT count(*) FROM " + t.tableName());
      assertTrue(t.tableName() + " is empty", n > 0);
      rows.add(n);
    }
    return rows;
  }

  /** The agg tables that differ from the oracle computed from {@code factTable} (EXCEPT ALL either way). */
  public static List<String> tablesDifferingFromOracle(Connection c, String factTable) throws Exception {
    computeOracle(c, factTable);
    List<String> differing = new ArrayList<>();
    for (AggTable t : AggTable.values()) {
      if (rowsOnlyIn(c, t, t.tableName(), "oracle_" + t.tableName())
          + rowsOnlyIn(c, t, "oracle_" + t.tableName(), t.tableName()) > 0) {
        differing.add(t.tableName());
      }
    }
    return differing;
  }

  /** Rows of {@code a} that {@code b} lacks, counting duplicates (EXCEPT ALL), over {@code t}'s columns. */
  private static long rowsOnlyIn(Connection c, AggTable t, String a, String b) throws Exception {
    String cols = String.join(", ", t.columnNames());
    return Db.queryLong(c, "SELECT count(*) FROM (SELECT " + cols + " FROM " + a + " EXCEPT ALL SELECT " + cols
        + " FROM " + b + ") x");
  }

  /** An order-independent checksum of every agg table, to prove "unchanged" or "identical". */
  public static String checksumAll(Connection c) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (AggTable t : AggTable.values()) {
      try (var st = c.createStatement();
          var rs = st.executeQuery("SELECT count(*), coalesce(sum(hashtextextended(x::text, 7)), 0) FROM "
              + t.tableName() + " x")) {
        rs.next();
        sb.append(t.tableName()).append('=').append(rs.getLong(1)).append('/').append(rs.getString(2)).append(';');
      }
    }
    return sb.toString();
  }
}
