package org.warehouse.pipelines.repartition;

import java.util.List;
import org.warehouse.transforms.jdbc.Sql;

/**
 * The columns that identify a row of the original (its primary key, else a unique key on NOT NULL
 * columns): what the online mode's change log records, with their SQL types.
 */
public record RowKey(String name, List<String> columns, List<String> types) {
  public RowKey {
    columns = List.copyOf(columns);
    types = List.copyOf(types);
  }

  /** {@code "a", "b"}. */
  public String quoted() {
    return Sql.quoteColumns(columns);
  }

  /** {@code x."a", x."b"}. */
  public String quoted(String alias) {
    StringBuilder b = new StringBuilder();
    for (String c : columns) {
      b.append(b.length() == 0 ? "" : ", ").append(alias).append('.').append(Sql.quoteIdent(c));
    }
    return b.toString();
  }

  /** {@code "a" type_a, "b" type_b}: the key's column definitions. */
  public String definitions() {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < columns.size(); i++) {
      b.append(i == 0 ? "" : ", ").append(Sql.quoteIdent(columns.get(i))).append(' ').append(types.get(i));
    }
    return b.toString();
  }

  /** {@code a."k1" = b."k1" AND a."k2" = b."k2"}. */
  public String equal(String a, String b) {
    StringBuilder s = new StringBuilder();
    for (String c : columns) {
      s.append(s.length() == 0 ? "" : " AND ").append(a).append('.').append(Sql.quoteIdent(c)).append(" = ")
          .append(b).append('.').append(Sql.quoteIdent(c));
    }
    return s.toString();
  }
}
