package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/** SQL that several of dedupe's driver steps share: the row checksum, catalog questions, small helpers. */
public final class DedupeSql {
  private DedupeSql() {}

  /**
   * Order-independent checksum of whole rows: the exact (numeric) sum of PostgreSQL's 64-bit hash of
   * each row, {@code hash_record_extended(row, 0)} (PostgreSQL 14+; every column type needs an
   * extended hash function, as all the usual ones have). ~5x cheaper than md5 of the row text. Unlike
   * {@code TableChecksum.rowHashSum} (a hash of each row's text) it needs no text cast, and it is the form
   * existing backups' comments record, which {@code --rollback} compares against.
   */
  public static String checksumExpr(String alias) {
    return "coalesce(sum(hash_record_extended(" + alias + ", 0)), 0)";
  }

  public static boolean constraintExists(Connection c, TableRef table, String name) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT 1 FROM pg_constraint WHERE conrelid = ?::regclass AND conname = ? AND contype IN ('u', 'p')")) {
      ps.setString(1, table.quoted());
      ps.setString(2, name);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    }
  }

  /** Count and checksum of the rows with id in (fromExclusive, toInclusive]. */
  static RowSet countAndChecksum(Connection c, TableRef table, long fromExclusive, long toInclusive)
      throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*), " + checksumExpr("t") + " FROM " + table.quoted()
            + " AS t WHERE id > " + fromExclusive + " AND id <= " + toInclusive)) {
      rs.next();
      return new RowSet(rs.getLong(1), rs.getBigDecimal(2));
    }
  }

  /**
   * Why the table's contents cannot be replaced by TRUNCATE + re-insert of the survivors, or null
   * when they can: another table's foreign key references it (TRUNCATE would need CASCADE), it has
   * user triggers (the re-insert would fire INSERT triggers, TRUNCATE no DELETE triggers), or it has
   * inheritance children / is partitioned (TRUNCATE would reach them). Such tables take the DELETE
   * path.
   */
  public static String truncateBlocker(Connection c, TableRef table) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT "
        + "(SELECT string_agg(conname || ' on ' || conrelid::regclass::text, ', ') FROM pg_constraint "
        + "  WHERE confrelid = r.oid AND contype = 'f'), "
        + "(SELECT string_agg(tgname, ', ') FROM pg_trigger WHERE tgrelid = r.oid AND NOT tgisinternal), "
        + "r.relhassubclass OR r.relkind <> 'r' "
        + "FROM pg_class r WHERE r.oid = ?::regclass")) {
      ps.setString(1, table.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        if (rs.getString(1) != null) {
          return "referenced by foreign key " + rs.getString(1);
        }
        if (rs.getString(2) != null) {
          return "has trigger(s) " + rs.getString(2);
        }
        if (rs.getBoolean(3)) {
          return "has inheritance children or is partitioned";
        }
        return null;
      }
    }
  }

  /** True when a valid, non-partial btree index on the table starts with column id. */
  public static boolean idIndexed(Connection c, TableRef table) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        + "JOIN pg_am am ON am.oid = i.relam JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
        + "WHERE x.indrelid = " + Sql.literal(table.quoted()) + "::regclass AND a.attname = 'id' AND am.amname = 'btree' "
        + "AND x.indisvalid AND x.indpred IS NULL") > 0;
  }

  static long update(Connection c, String sql) throws SQLException {
    try (Statement st = c.createStatement()) {
      return st.executeUpdate(sql);
    }
  }

  static String prefixed(String prefix, List<String> cols) {
    StringBuilder sb = new StringBuilder();
    for (String col : cols) {
      if (sb.length() > 0) {
        sb.append(", ");
      }
      sb.append(prefix).append(Sql.quoteIdent(col));
    }
    return sb.toString();
  }
}
