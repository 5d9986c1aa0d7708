package org.warehouse.pipelines.promote.targetdb;

/**
 * What a target database holds under a table name, seen against the source's definition.
 *
 * @param exists a table of that name exists
 * @param sameColumns its columns (names, order and types) are those the source's definition creates
 * @param hasDependents views, foreign keys or grants hang on it (a rename would lose them)
 * @param columns its columns as the target describes them, for messages
 */
public record TargetTable(boolean exists, boolean sameColumns, boolean hasDependents, String columns) {
  /** No table of that name. */
  public static TargetTable absent() {
    return new TargetTable(false, false, false, "");
  }
}
