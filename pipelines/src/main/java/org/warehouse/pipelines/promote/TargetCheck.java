package org.warehouse.pipelines.promote;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.pipelines.promote.targetdb.TargetTable;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * What the target holds for each selected table, and so what the run does with it: a table with the
 * source's columns and checksum is unchanged (skipped); one whose columns differ while dependent
 * objects hang on it blocks the run before anything is copied.
 */
public final class TargetCheck {
  /** Target connections for checksums, ANALYZE and index builds. */
  public static final int WORKERS = 4;

  /** One selected table with its source read, its state on the target and the decision. */
  public record Decided(PromotePlan.Table table, SourceSide.Read source, TargetTable target, Action action) {
    TableDefinition definition() {
      return source.definition();
    }

    String blockedReason() {
      return PromotePlan.blockedReason(table, target, definition());
    }
  }

  private TargetCheck() {}

  /** The driver's connection to the target (DDL, catalog, publish); its lock waits end after {@code seconds}. */
  public static Connection connect(TargetDatabase target, int lockTimeoutSeconds) throws SQLException {
    Connection c;
    try {
      c = target.connect("warehouse-promote");
    } catch (SQLException e) {
      throw new WarehouseException("target database unreachable: " + e.getMessage() + "; nothing was changed", e);
    }
    try {
      target.setLockTimeout(c, lockTimeoutSeconds);
      return c;
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** Inspects every table on {@code tgt}; existing tables with the same columns are checksummed on {@code workers}. */
  public static List<Decided> decide(TargetDatabase target, Connection tgt, SqlWorkers workers,
      Map<PromotePlan.Table, SourceSide.Read> reads) throws Exception {
    Map<PromotePlan.Table, TargetTable> states = new LinkedHashMap<>();
    Map<PromotePlan.Table, CompletableFuture<TableChecksum>> sums = new LinkedHashMap<>();
    for (Map.Entry<PromotePlan.Table, SourceSide.Read> e : reads.entrySet()) {
      PromotePlan.Table t = e.getKey();
      TargetTable state = target.inspect(tgt, t.target(), e.getValue().definition());
      states.put(t, state);
      if (state.exists() && state.sameColumns()) {
        sums.put(t, Checksums.sum(workers, "target checksum", target.checksumSlices(tgt, t.target()),
            (c, slice) -> target.checksum(c, t.target(), e.getValue().definition(), slice)));
      }
    }
    List<Decided> out = new ArrayList<>();
    for (Map.Entry<PromotePlan.Table, SourceSide.Read> e : reads.entrySet()) {
      PromotePlan.Table t = e.getKey();
      boolean same = sums.containsKey(t)
          && SqlWorkers.join(sums.get(t)).equals(SqlWorkers.join(e.getValue().checksum()));
      out.add(new Decided(t, e.getValue(), states.get(t), PromotePlan.decide(states.get(t), same)));
    }
    return out;
  }

  /** Fails with the first blocked table's reason. */
  public static void refuseBlocked(List<Decided> tables) {
    for (Decided d : tables) {
      if (d.action() == Action.BLOCKED) {
        throw new WarehouseException(d.blockedReason());
      }
    }
  }
}
