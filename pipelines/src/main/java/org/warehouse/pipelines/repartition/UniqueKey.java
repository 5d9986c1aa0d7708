package org.warehouse.pipelines.repartition;

import java.util.List;

/**
 * One unique key of the original, as the partitioned table will have it: {@code columns} include the
 * partition column (appended when {@code widened}: PostgreSQL requires it on a partitioned table).
 */
public record UniqueKey(String name, boolean constraint, boolean primary, List<String> columns, boolean widened) {
  public UniqueKey {
    columns = List.copyOf(columns);
  }

  /** The key's columns on the original (without the appended partition column). */
  public List<String> originalColumns() {
    return widened ? columns.subList(0, columns.size() - 1) : columns;
  }
}
