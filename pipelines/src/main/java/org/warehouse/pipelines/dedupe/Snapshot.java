package org.warehouse.pipelines.dedupe;

/**
 * One table's id range as the run found it under a short SHARE lock: every row with {@code id <=
 * maxId} is committed and is what the pipeline reads and the backup copies; later inserts get higher ids.
 *
 * @param empty the table had no row (then {@code minId} and {@code maxId} are 0)
 */
record Snapshot(DedupePlan.TablePlan table, long minId, long maxId, boolean empty) {}
