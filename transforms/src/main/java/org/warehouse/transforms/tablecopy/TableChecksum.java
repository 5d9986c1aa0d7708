package org.warehouse.transforms.tablecopy;

import java.math.BigInteger;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Row count and an order-independent content checksum of a table, computed by the server:
 *
 * <pre>SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0) FROM table AS t</pre>
 *
 * i.e. the sum (as numeric, no overflow) of a 64-bit hash of each row's text form. Equal tables
 * (same column order, same values, any row order, duplicates counted) give equal checksums. The
 * row's text form depends on a few session settings, so every checksum session sets them to the
 * same fixed values first ({@link #SESSION_SETTINGS}); both servers must be the same major version
 * (hashtextextended is stable, it backs hash partitioning).
 */
public final class TableChecksum {
  public static final String SESSION_SETTINGS =
      "SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; SET TimeZone = 'UTC'; "
          + "SET extra_float_digits = 1; SET bytea_output = 'hex'; SET lc_monetary = 'C'";

  private final long rows;
  private final String sum;

  public TableChecksum(long rows, String sum) {
    this.rows = rows;
    this.sum = sum;
  }

  public long rows() {
    return rows;
  }

  public String sum() {
    return sum;
  }

  /**
   * The row-set checksum expression over the rows aliased {@code alias}: the sum of a 64-bit hash of
   * each row's text form, as text (numeric: no overflow). The one checksum every pipeline compares.
   */
  public static String rowHashSum(String alias) {
    return "coalesce(sum(hashtextextended(" + alias + "::text, 0)), 0)::text";
  }

  /** The checksum query for one table. */
  public static String sql(TableRef t) {
    return "SELECT count(*), " + rowHashSum("t") + " FROM " + t.quoted() + " AS t";
  }

  /**
   * The checksum query for the rows of one table selected by {@code where} (e.g. a ctid range;
   * null = every row). Counts and sums add up: the checksums of disjoint ranges covering the table
   * combined with {@link #plus} equal the whole table's checksum.
   */
  public static String sql(TableRef t, String where) {
    return where == null ? sql(t) : sql(t) + " WHERE " + where;
  }

  /** Computes the checksum on a connection (setting the session settings first). */
  public static TableChecksum of(Connection c, TableRef t) throws SQLException {
    return of(c, t, null);
  }

  /** Computes the checksum of the rows matching {@code where} (null = all). */
  public static TableChecksum of(Connection c, TableRef t, String where) throws SQLException {
    Db.execute(c, SESSION_SETTINGS);
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery(sql(t, where))) {
      rs.next();
      return new TableChecksum(rs.getLong(1), rs.getString(2));
    }
  }

  /** The checksum of the union of two disjoint row sets (counts and hash sums add). */
  public TableChecksum plus(TableChecksum other) {
    return new TableChecksum(rows + other.rows, new BigInteger(sum).add(new BigInteger(other.sum)).toString());
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TableChecksum && ((TableChecksum) o).rows == rows && ((TableChecksum) o).sum.equals(sum);
  }

  @Override
  public int hashCode() {
    return Objects.hash(rows, sum);
  }

  @Override
  public String toString() {
    return rows + " rows, checksum " + sum;
  }
}
