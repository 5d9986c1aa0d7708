package org.warehouse.pipelines.promote.mariadb;

import java.util.ArrayList;
import java.util.List;

/**
 * A primary key, unique constraint or index of a source table, as MariaDB creates it.
 *
 * @param name the source's index (or constraint) name
 * @param kind primary key, unique key or plain index
 * @param columns the key columns, in order
 * @param descending per column, whether it is sorted descending
 */
public record MariaDbKey(String name, Kind kind, List<String> columns, List<Boolean> descending) {
  /** What the key enforces. */
  public enum Kind { PRIMARY, UNIQUE, INDEX }

  /** The clause of CREATE TABLE / ALTER TABLE … ADD that creates it. */
  public String clause() {
    List<String> cols = new ArrayList<>();
    for (int i = 0; i < columns.size(); i++) {
      cols.add(MariaDbSql.quote(columns.get(i)) + (descending.get(i) ? " DESC" : ""));
    }
    String list = "(" + String.join(", ", cols) + ")";
    return switch (kind) {
      case PRIMARY -> "PRIMARY KEY " + list;
      case UNIQUE -> "UNIQUE KEY " + MariaDbSql.quote(name) + " " + list;
      case INDEX -> "KEY " + MariaDbSql.quote(name) + " " + list;
    };
  }
}
