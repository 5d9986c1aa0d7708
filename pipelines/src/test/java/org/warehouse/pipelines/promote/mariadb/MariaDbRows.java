package org.warehouse.pipelines.promote.mariadb;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The test oracle: a table's rows fetched through JDBC from either server and rendered by Java (one
 * line per row, values as Java reads them: exact doubles via {@link Double#toString}, timestamps in
 * UTC, booleans true/false), sorted. Independent of promote's SQL checksum.
 */
public final class MariaDbRows {
  private MariaDbRows() {}

  public static List<String> postgres(Connection c, String table) throws SQLException {
    return rows(c, "SELECT * FROM " + table, true);
  }

  /**
   * Through the binary protocol (server-side prepared statement): MariaDB's text protocol sends FLOAT
   * values rounded to 6 digits, the binary one the stored 4 bytes.
   */
  public static List<String> mariadb(MariaDbTestDatabase db, String table) throws SQLException {
    java.util.Properties p = new java.util.Properties();
    p.setProperty("user", db.user());
    p.setProperty("password", db.password());
    p.setProperty("useServerPrepStmts", "true");
    p.setProperty("sessionVariables", "time_zone='+00:00'");
    try (Connection c = java.sql.DriverManager.getConnection(db.url(), p)) {
      return rows(c, "SELECT * FROM `" + table + "`", false);
    }
  }

  /** Fails naming up to five rows only the source has and five only the target has. */
  public static void assertSame(List<String> source, List<String> target) {
    List<String> onlySource = new ArrayList<>(source);
    onlySource.removeAll(target);
    List<String> onlyTarget = new ArrayList<>(target);
    onlyTarget.removeAll(source);
    if (!onlySource.isEmpty() || !onlyTarget.isEmpty() || source.size() != target.size()) {
      throw new AssertionError("rows differ (" + source.size() + " on the source, " + target.size()
          + " on the target)\nonly on the source: " + onlySource.subList(0, Math.min(5, onlySource.size()))
          + "\nonly on the target: " + onlyTarget.subList(0, Math.min(5, onlyTarget.size())));
    }
  }

  private static List<String> rows(Connection c, String sql, boolean postgres) throws SQLException {
    List<String> out = new ArrayList<>();
    try (java.sql.PreparedStatement st = c.prepareStatement(sql); ResultSet rs = st.executeQuery()) {
      ResultSetMetaData md = rs.getMetaData();
      while (rs.next()) {
        StringBuilder sb = new StringBuilder();
        for (int i = 1; i <= md.getColumnCount(); i++) {
          sb.append(i == 1 ? "" : " | ").append(value(rs, i, md.getColumnTypeName(i).toLowerCase(), postgres));
        }
        out.add(sb.toString());
      }
    }
    Collections.sort(out);
    return out;
  }

  private static String value(ResultSet rs, int i, String type, boolean postgres) throws SQLException {
    if (rs.getObject(i) == null) {
      return "NULL";
    }
    switch (type) {
      case "float8", "double", "double precision":
        return Double.toString(rs.getDouble(i));
      case "float4", "float", "real":
        return Float.toString(rs.getFloat(i));
      case "bool", "boolean", "tinyint":
        return Boolean.toString(rs.getBoolean(i));
      case "timestamptz":
        return rs.getObject(i, OffsetDateTime.class).withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime().toString();
      case "timestamp", "datetime":
        return rs.getObject(i, LocalDateTime.class).toString();
      case "bpchar", "char":
        return "'" + rs.getString(i).stripTrailing() + "'";
      default:
        return "'" + rs.getString(i) + "'";
    }
  }
}
