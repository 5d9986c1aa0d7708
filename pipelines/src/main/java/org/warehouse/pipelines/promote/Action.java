package org.warehouse.pipelines.promote;

/** What a run does with one selected table, decided from what the target holds. */
public enum Action {
  /** No table of that name on the target: copy it and create it. */
  CREATE("would create the target table"),
  /** The target's table differs: copy and replace it. */
  REPLACE("would replace the target table"),
  /** Same columns and same checksum on the target: nothing to copy. */
  UNCHANGED("unchanged, would be skipped"),
  /** The columns differ and dependent objects hang on the target's table: the run must not start. */
  BLOCKED("BLOCKED");

  private final String dryRun;

  Action(String dryRun) {
    this.dryRun = dryRun;
  }

  /** What a dry run prints for it. */
  public String dryRunText() {
    return dryRun;
  }

  /** Whether the table is copied. */
  public boolean copies() {
    return this == CREATE || this == REPLACE;
  }
}
