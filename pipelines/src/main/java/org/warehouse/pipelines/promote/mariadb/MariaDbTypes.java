package org.warehouse.pipelines.promote.mariadb;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.warehouse.pipelines.promote.mariadb.MariaDbColumn.Kind;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * PostgreSQL column types ({@code format_type}) → MariaDB/MySQL column types. A type without a
 * faithful counterpart is refused, naming the table and the column, before anything changes. The
 * mapping table is in docs/promote.md.
 */
public final class MariaDbTypes {
  /** Longest VARCHAR kept as VARCHAR; 768 utf8mb4 characters = InnoDB's 3072-byte index key limit. */
  static final int MAX_VARCHAR = 768;
  /** Length of a {@code text} column that is part of a key (a key needs a bounded type). */
  static final int KEY_TEXT_LENGTH = 255;

  private static final Pattern NUMERIC = Pattern.compile("numeric\\((\\d+),(-?\\d+)\\)");
  private static final Pattern VARCHAR = Pattern.compile("character varying\\((\\d+)\\)");
  private static final Pattern CHAR = Pattern.compile("character\\((\\d+)\\)");
  private static final Pattern TIMESTAMP = Pattern.compile("timestamp(?:\\((\\d)\\))? with(out)? time zone");

  private MariaDbTypes() {}

  /**
   * The target column for a source column.
   *
   * @param table the table, for the refusal message
   * @param inKey whether the column is part of a primary key, unique constraint or index
   */
  public static MariaDbColumn map(String table, String column, String type, boolean inKey) {
    MariaDbColumn c = mapOrNull(column, type, inKey);
    if (c == null) {
      throw new WarehouseException("table " + table + ", column " + column + ": type " + type
          + " has no faithful MariaDB/MySQL type (" + hint(type) + "); exclude the table with --exclude, "
          + "or change the column's type on the source; nothing was changed");
    }
    return c;
  }

  static MariaDbColumn mapOrNull(String column, String type, boolean inKey) {
    switch (type) {
      case "smallint":
        return new MariaDbColumn(column, type, Kind.INTEGER, "SMALLINT");
      case "integer":
        return new MariaDbColumn(column, type, Kind.INTEGER, "INT");
      case "bigint":
        return new MariaDbColumn(column, type, Kind.INTEGER, "BIGINT");
      case "real":
        return new MariaDbColumn(column, type, Kind.FLOAT, "FLOAT");
      case "double precision":
        return new MariaDbColumn(column, type, Kind.FLOAT, "DOUBLE");
      case "boolean":
        return new MariaDbColumn(column, type, Kind.BOOLEAN, "BOOLEAN");
      case "date":
        return new MariaDbColumn(column, type, Kind.DATE, "DATE");
      case "uuid":
        return new MariaDbColumn(column, type, Kind.TEXT, "CHAR(36)");
      case "text":
      case "character varying":
        return new MariaDbColumn(column, type, Kind.TEXT, inKey ? "VARCHAR(" + KEY_TEXT_LENGTH + ")" : "LONGTEXT");
      case "json":
      case "jsonb":
        return inKey ? null : new MariaDbColumn(column, type, Kind.TEXT, "LONGTEXT");
      default:
        return parameterized(column, type, inKey);
    }
  }

  private static MariaDbColumn parameterized(String column, String type, boolean inKey) {
    Matcher m = NUMERIC.matcher(type);
    if (m.matches()) {
      int p = Integer.parseInt(m.group(1));
      int s = Integer.parseInt(m.group(2));
      return p <= 65 && s >= 0 && s <= 38 && s <= p
          ? new MariaDbColumn(column, type, Kind.DECIMAL, "DECIMAL(" + p + "," + s + ")") : null;
    }
    m = VARCHAR.matcher(type);
    if (m.matches()) {
      int n = Integer.parseInt(m.group(1));
      if (n <= MAX_VARCHAR) {
        return new MariaDbColumn(column, type, Kind.TEXT, "VARCHAR(" + n + ")");
      }
      return inKey ? null : new MariaDbColumn(column, type, Kind.TEXT, "LONGTEXT");
    }
    m = CHAR.matcher(type);
    if (m.matches()) {
      int n = Integer.parseInt(m.group(1));
      return n <= 255 ? new MariaDbColumn(column, type, Kind.TEXT, "CHAR(" + n + ")") : null;
    }
    m = TIMESTAMP.matcher(type);
    if (m.matches()) {
      String digits = m.group(1) == null ? "6" : m.group(1);
      return new MariaDbColumn(column, type, m.group(2) == null ? Kind.TIMESTAMPTZ : Kind.TIMESTAMP,
          "DATETIME(" + digits + ")");
    }
    return null;
  }

  private static String hint(String type) {
    if (type.equals("numeric")) {
      return "numeric without precision holds any number of digits; give it one, e.g. numeric(18,4)";
    }
    if (type.startsWith("numeric(")) {
      return "MariaDB's DECIMAL holds at most 65 digits, 38 after the point";
    }
    if (type.startsWith("json") || type.startsWith("character varying") || type.equals("text")) {
      return "a key on it would need a bounded type of at most " + MAX_VARCHAR + " characters";
    }
    return "supported: smallint, integer, bigint, numeric(p,s), real, double precision, boolean, text, "
        + "varchar(n), char(n), date, timestamp, timestamptz, uuid, json, jsonb";
  }
}
