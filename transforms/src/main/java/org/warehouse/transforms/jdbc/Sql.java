package org.warehouse.transforms.jdbc;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/** SQL identifier helpers: every identifier that comes from configuration goes through here. */
public final class Sql {
  private static final Pattern IDENT = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]{0,62}");

  private Sql() {}

  /** Quotes one identifier for PostgreSQL ("a""b"). */
  public static String quoteIdent(String ident) {
    if (ident == null || ident.isEmpty()) {
      throw new IllegalArgumentException("empty SQL identifier");
    }
    return '"' + ident.replace("\"", "\"\"") + '"';
  }

  /**
   * Validates a configured identifier: letters, digits, underscore, at most 63 characters, not
   * starting with a digit. Throws an {@link IllegalArgumentException} that names what was wrong.
   */
  public static String requireIdent(String what, String ident) {
    if (ident == null || !IDENT.matcher(ident).matches()) {
      throw new IllegalArgumentException(
          what
              + " '"
              + ident
              + "' is not a valid identifier (letters, digits and _; at most 63; not starting with a digit)");
    }
    return ident;
  }

  /** Quotes a comma-separated list of validated column names. */
  public static String quoteColumns(List<String> columns) {
    List<String> quoted = new ArrayList<>(columns.size());
    for (String c : columns) {
      quoted.add(quoteIdent(c));
    }
    return String.join(", ", quoted);
  }

  /** A string literal ('it''s'), for the few places that need one in DDL (comments). */
  public static String literal(String value) {
    return value == null ? "NULL" : "'" + value.replace("'", "''") + "'";
  }
}
