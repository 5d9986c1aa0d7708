package org.warehouse.pipelines.promote.mariadb;

/** Identifier and literal quoting for MariaDB/MySQL (default sql_mode: backslash escapes on). */
public final class MariaDbSql {
  /** MariaDB's and MySQL's limit on table, column and index names. */
  public static final int MAX_IDENTIFIER = 64;

  private MariaDbSql() {}

  /** {@code `name`}, a backtick inside doubled. */
  public static String quote(String ident) {
    if (ident == null || ident.isEmpty()) {
      throw new IllegalArgumentException("empty SQL identifier");
    }
    return '`' + ident.replace("`", "``") + '`';
  }

  /** {@code 'text'}, with quotes and backslashes escaped; NULL for null. */
  public static String literal(String value) {
    return value == null ? "NULL" : "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
  }
}
