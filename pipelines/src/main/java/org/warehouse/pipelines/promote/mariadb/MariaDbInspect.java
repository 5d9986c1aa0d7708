package org.warehouse.pipelines.promote.mariadb;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.promote.targetdb.TargetTable;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * What a MariaDB/MySQL target holds under a table name ({@code information_schema}), against the
 * mapped source definition. Views on the table need nothing (MariaDB resolves them by name, so after
 * the rename they read the new table); foreign keys referencing it and triggers on it are dependents
 * a rename would move to the old table.
 */
final class MariaDbInspect {
  private MariaDbInspect() {}

  static TargetTable inspect(Connection c, String table, MariaDbTable mapped) throws SQLException {
    String type = one(c, "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
        + "AND TABLE_NAME = ?", table);
    if (type == null) {
      return TargetTable.absent();
    }
    Map<String, String> actual = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM "
        + "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          actual.put(rs.getString(1), MariaDbTable.normalizeType(rs.getString(2))
              + ("NO".equals(rs.getString(3)) ? " not null" : ""));
        }
      }
    }
    List<String> dependents = dependents(c, table);
    if (!"BASE TABLE".equals(type)) {
      dependents.add(0, "it is a " + type.toLowerCase(java.util.Locale.ROOT));
    }
    Map<String, String> expected = mapped.expectedColumns();
    boolean same = "BASE TABLE".equals(type) && actual.equals(expected);
    String describe = same ? actual.toString() : differences(actual, expected);
    if (!dependents.isEmpty()) {
      describe += "; " + String.join("; ", dependents);
    }
    return new TargetTable(true, same, !dependents.isEmpty(), describe);
  }

  /** "column x: int not null on the target, bigint not null from the source; column y missing on the target; …". */
  static String differences(Map<String, String> actual, Map<String, String> expected) {
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, String> e : expected.entrySet()) {
      String have = actual.get(e.getKey());
      if (have == null) {
        out.add("column " + e.getKey() + " missing on the target");
      } else if (!have.equals(e.getValue())) {
        out.add("column " + e.getKey() + ": " + have + " on the target, " + e.getValue() + " from the source");
      }
    }
    for (String col : actual.keySet()) {
      if (!expected.containsKey(col)) {
        out.add("column " + col + " only on the target");
      }
    }
    if (out.isEmpty()) {
      out.add("same columns in another order (target " + actual.keySet() + ", source " + expected.keySet() + ")");
    }
    return String.join("; ", out);
  }

  /** Foreign keys referencing the table and triggers on it, one phrase each. */
  static List<String> dependents(Connection c, String table) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT CONSTRAINT_NAME, TABLE_NAME FROM "
        + "information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME = ? "
        + "ORDER BY 1")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add("foreign key " + rs.getString(1) + " of table " + rs.getString(2) + " references it");
        }
      }
    }
    try (PreparedStatement ps = c.prepareStatement("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS "
        + "WHERE EVENT_OBJECT_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE = ? ORDER BY 1")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add("trigger " + rs.getString(1) + " is on it");
        }
      }
    }
    return out;
  }

  static boolean exists(Connection c, String table) throws SQLException {
    return one(c, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        table) != null;
  }

  /** Fails before the rename when foreign keys or triggers hang on a table it would replace. */
  static void refuseForeignKeys(Connection c, String table) throws SQLException {
    List<String> deps = dependents(c, table);
    if (!deps.isEmpty()) {
      throw new WarehouseException("table " + table + " on the target cannot be replaced by a rename: "
          + String.join("; ", deps) + " (it would move to the old table): drop it, then re-run; production unchanged");
    }
  }

  private static String one(Connection c, String sql, String parameter) throws SQLException {
    return MariaDbRunLock.scalar(c, sql, parameter);
  }
}
