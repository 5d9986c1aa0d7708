package org.warehouse.pipelines.promote.mariadb;

import org.warehouse.transforms.jdbc.Sql;

/**
 * One source column as the MariaDB target holds it.
 *
 * @param name the column name (as on the source)
 * @param sourceType the source's {@code format_type}
 * @param kind how values are carried and compared
 * @param targetType the MariaDB column type
 */
public record MariaDbColumn(String name, String sourceType, Kind kind, String targetType) {
  /** Families of values: each has one load expression and one canonical text form per side. */
  public enum Kind { INTEGER, DECIMAL, FLOAT, TEXT, DATE, TIMESTAMP, TIMESTAMPTZ, BOOLEAN }

  /** What the source's COPY renders for this column: text LOAD DATA parses back to the same value. */
  public String sourceSelect() {
    String col = Sql.quoteIdent(name);
    return switch (kind) {
      case BOOLEAN -> col + "::int";
      case TIMESTAMPTZ -> "(" + col + " AT TIME ZONE 'UTC')";
      default -> col;
    };
  }

  /**
   * This column's canonical text on the PostgreSQL side: {@code 'N'} for NULL, else {@code 'v'}
   * followed by a form both servers compute identically (see {@link #targetCanonical}); without the
   * NULL marker and the prefix for a NOT NULL column (a third of the checksum's cost).
   */
  public String sourceCanonical(boolean notNull) {
    String v = Sql.quoteIdent(name);
    String text = switch (kind) {
      case INTEGER, DECIMAL -> notNull ? v : v + "::text"; // concat_ws renders numbers as ::text does
      case TEXT -> "char_length(" + v + "::text) || ':' || " + v + "::text";
      case DATE -> "to_char(" + v + ", 'YYYY-MM-DD')";
      case TIMESTAMP -> "to_char(" + v + ", 'YYYY-MM-DD HH24:MI:SS.US')";
      case TIMESTAMPTZ -> "to_char(" + v + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')";
      case BOOLEAN -> "CASE WHEN " + v + " THEN '1' ELSE '0' END";
      case FLOAT -> pgFloat(v + "::float8");
    };
    return notNull ? text : "coalesce('v' || " + text + ", 'N')";
  }

  /** The same canonical text computed by MariaDB/MySQL from the loaded column. */
  public String targetCanonical(boolean notNull) {
    String v = MariaDbSql.quote(name);
    String text = switch (kind) {
      case INTEGER, DECIMAL, BOOLEAN -> notNull ? v : "CAST(" + v + " AS CHAR)"; // CONCAT_WS renders numbers as CAST does
      case TEXT -> "CONCAT(CHAR_LENGTH(" + v + "), ':', " + v + ")";
      case DATE -> "DATE_FORMAT(" + v + ", '%Y-%m-%d')";
      case TIMESTAMP, TIMESTAMPTZ -> "DATE_FORMAT(" + v + ", '%Y-%m-%d %H:%i:%s.%f')";
      case FLOAT -> mariaFloat(v);
    };
    return notNull ? text : "COALESCE(CONCAT('v', " + text + "), 'N')";
  }

  /*
   * A double as sign, 53-bit integer mantissa and binary exponent ("-4503599627370496p-52"): exact,
   * and computed the same way by both servers (multiplying by a power of two is exact). The exponent
   * is estimated with a logarithm, then corrected by one either way.
   */
  private static String pgFloat(String x) {
    String a = "abs(" + x + ")";
    String e0 = "floor(ln(" + a + ") / ln(2::float8))::int";
    String k = "(52 - " + e0 + ")";
    // two factors: 2^k alone overflows for the smallest (subnormal) doubles
    String m0 = "(" + a + " * power(2::float8, " + k + " / 2) * power(2::float8, " + k + " - " + k + " / 2))";
    return "CASE WHEN " + x + " = 0 THEN '0' WHEN " + x + " IN ('NaN', 'Infinity', '-Infinity') THEN " + x + "::text "
        + "ELSE CASE WHEN " + x + " < 0 THEN '-' ELSE '' END || "
        + "(CASE WHEN " + m0 + " >= 2::float8 ^ 53 THEN " + m0 + " / 2 WHEN " + m0 + " < 2::float8 ^ 52 THEN " + m0
        + " * 2 ELSE " + m0 + " END)::bigint::text || 'p' || "
        + "(" + e0 + " + CASE WHEN " + m0 + " >= 2::float8 ^ 53 THEN 1 WHEN " + m0 + " < 2::float8 ^ 52 THEN -1 ELSE 0 END - 52)::text END";
  }

  private static String mariaFloat(String x) {
    String a = "ABS(" + x + ")";
    String e0 = "CAST(FLOOR(LN(" + a + ") / LN(2)) AS SIGNED)";
    String k = "(52 - " + e0 + ")";
    String m0 = "(" + a + " * POW(2, " + k + " DIV 2) * POW(2, " + k + " - " + k + " DIV 2))";
    return "CASE WHEN " + x + " = 0 THEN '0' "
        + "ELSE CONCAT(IF(" + x + " < 0, '-', ''), "
        + "CAST(CASE WHEN " + m0 + " >= POW(2, 53) THEN " + m0 + " / 2 WHEN " + m0 + " < POW(2, 52) THEN " + m0
        + " * 2 ELSE " + m0 + " END AS SIGNED), 'p', "
        + "CAST(" + e0 + " + CASE WHEN " + m0 + " >= POW(2, 53) THEN 1 WHEN " + m0 + " < POW(2, 52) THEN -1 ELSE 0 END - 52 AS SIGNED)) END";
  }
}
