package org.warehouse.pipelines.promote.mariadb;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * A row count and an order-independent content checksum that PostgreSQL (the source) and
 * MariaDB/MySQL (the target) compute identically for the same rows:
 *
 * <pre>
 * per row:  md5 of the columns' canonical texts joined by '|'
 *           (NULL → N; else v + (v left out for NOT NULL columns) integers and decimals as text, text as length:value, dates
 *            YYYY-MM-DD, timestamps YYYY-MM-DD HH:MI:SS.ffffff in UTC, booleans 0/1, floats as
 *            exact mantissa p exponent — {@link MariaDbColumn})
 * table:    count(*), sum of the first 15 hex digits of each md5 as an integer (exact decimal sum)
 * </pre>
 */
public final class MariaDbChecksum {
  private MariaDbChecksum() {}

  /** The PostgreSQL query for a source table. */
  public static String sourceSql(MariaDbTable table, TableRef source) {
    List<String> parts = new ArrayList<>();
    for (MariaDbColumn c : table.columns()) {
      parts.add(c.sourceCanonical(table.notNull(c.name())));
    }
    return "SELECT count(*), coalesce(sum(('x0' || substr(md5(concat_ws('|', " + String.join(", ", parts)
        + ")), 1, 15))::bit(64)::bigint), 0)::text FROM " + source.quoted();
  }

  /** The MariaDB/MySQL query for a target (or staging) table. */
  public static String targetSql(MariaDbTable table, String target) {
    List<String> parts = new ArrayList<>();
    for (MariaDbColumn c : table.columns()) {
      parts.add(c.targetCanonical(table.notNull(c.name())));
    }
    return "SELECT COUNT(*), CAST(COALESCE(SUM(CAST(CONV(SUBSTRING(MD5(CONCAT_WS('|', " + String.join(", ", parts)
        + ")), 1, 15), 16, 10) AS UNSIGNED)), 0) AS CHAR) FROM " + MariaDbSql.quote(target);
  }

  /** Runs a checksum query (either side). */
  public static TableChecksum compute(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      rs.next();
      return new TableChecksum(rs.getLong(1), rs.getString(2));
    }
  }
}
