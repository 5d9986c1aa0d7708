package org.warehouse.pipelines.promote;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * After the copy, on the target workers: each staging table's checksum (big tables in slices on
 * several connections) and its ANALYZE side by side, then — as soon as both are done — its keys and
 * indexes; largest tables first. Every copy must have the source's row count and checksum.
 */
final class PromoteVerify {
  private PromoteVerify() {}

  /**
   * Waits for every task, then fails on the first error or the first table whose checksum differs
   * from the source's ({@code sourceSums}, computed in the run's snapshot).
   */
  static void run(TargetDatabase target, Connection tgt, SqlWorkers workers, List<PromotePlan.Copy> copies,
      Map<PromotePlan.Table, CompletableFuture<TableChecksum>> sourceSums) throws Exception {
    List<PromotePlan.Copy> bySize = new ArrayList<>(copies);
    bySize.sort(Comparator.comparingLong((PromotePlan.Copy c) -> c.table().pages()).reversed());
    Map<PromotePlan.Copy, CompletableFuture<TableChecksum>> sums = new LinkedHashMap<>();
    for (PromotePlan.Copy c : bySize) {
      sums.put(c, Checksums.sum(workers, "target checksum", target.checksumSlices(tgt, c.staging()),
          (conn, slice) -> target.checksum(conn, c.staging(), c.definition(), slice)));
    }
    List<CompletableFuture<?>> all = new ArrayList<>(sums.values());
    for (PromotePlan.Copy c : bySize) {
      // ANALYZE runs alongside the checksum queries; the key and index DDL waits for both
      CompletableFuture<Object> analyzed = workers.submit("analyze", conn -> {
        target.analyze(conn, c.staging());
        return null;
      });
      all.add(analyzed);
      all.add(sums.get(c).thenCombine(analyzed, (sum, x) -> x).thenCompose(x -> workers.submit("index build", conn -> {
        for (String ddl : target.keysAndIndexesSql(c.definition(), c.staging())) {
          Db.execute(conn, ddl);
        }
        return null;
      })));
    }
    // let every task end (a failed one must not leave another still working on a staging table)
    CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).handle((x, e) -> null).join();
    for (PromotePlan.Copy c : copies) {
      TableChecksum copied = SqlWorkers.join(sums.get(c));
      TableChecksum source = SqlWorkers.join(sourceSums.get(c.table()));
      if (!copied.equals(source)) {
        throw new WarehouseException("verification failed for table " + c.table().source() + ": source has "
            + source + " in the run's snapshot, the copy has " + copied + " (the copy differs from "
            + "what was read: a trigger or a rule on the target?); production unchanged");
      }
    }
    for (CompletableFuture<?> f : all) {
      SqlWorkers.join(f);
    }
  }
}
