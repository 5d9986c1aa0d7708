package org.warehouse.pipelines.promote;

import java.sql.Connection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.transforms.tablecopy.TableChecksum;

/** A table's checksum computed in slices on a worker pool, one query per slice, added up. */
final class Checksums {
  /** The checksum of one slice (a predicate, or null for every row) on a worker's connection. */
  @FunctionalInterface
  interface SliceSum {
    TableChecksum of(Connection c, String slice) throws Exception;
  }

  private Checksums() {}

  static CompletableFuture<TableChecksum> sum(SqlWorkers workers, String phase, List<String> slices, SliceSum sum) {
    CompletableFuture<TableChecksum> total = null;
    for (String slice : slices) {
      CompletableFuture<TableChecksum> part = workers.submit(phase, c -> sum.of(c, slice));
      total = total == null ? part : total.thenCombine(part, TableChecksum::plus);
    }
    return total;
  }
}
