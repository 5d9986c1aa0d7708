package org.warehouse.pipelines.promote;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.warehouse.pipelines.common.Phases;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.promote.targetdb.PostgresTarget;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * The PostgreSQL source of a run: one session holding the transaction whose snapshot every read of
 * the run imports (tables locked in ACCESS SHARE mode until the run ends), plus worker connections for
 * the table definitions and for the checksums, which run in the background while the run goes on.
 */
public final class SourceSide implements AutoCloseable {
  static final int CHECKSUM_WORKERS = 2;
  static final int CATALOG_WORKERS = 3;
  private static final String WHY_LOCKED = "a session holds one exclusively: a table swap or an ALTER on the source?";

  /** A table's definition and its checksum under way (in the run's snapshot). */
  public record Read(TableDefinition definition, CompletableFuture<TableChecksum> checksum) {}

  private final Connection session;
  private final SqlWorkers checksums;
  private final JdbcConfig config;
  private final int lockTimeoutSeconds;
  private final Phases phases;

  private SourceSide(Connection session, JdbcConfig config, int lockTimeoutSeconds, Phases phases) {
    this.session = session;
    this.config = config;
    this.lockTimeoutSeconds = lockTimeoutSeconds;
    this.phases = phases;
    this.checksums = new SqlWorkers(config, "warehouse-promote-checksum", CHECKSUM_WORKERS, phases);
  }

  /** Connects; the session's lock waits end after {@code lockTimeoutSeconds}. */
  public static SourceSide open(JdbcConfig config, int lockTimeoutSeconds, Phases phases) throws SQLException {
    Connection c;
    try {
      c = config.connect("warehouse-promote");
    } catch (SQLException e) {
      throw new WarehouseException("source database unreachable: " + e.getMessage() + "; nothing was changed", e);
    }
    try {
      LockTimeouts.set(c, lockTimeoutSeconds);
      return new SourceSide(c, config, lockTimeoutSeconds, phases);
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** The ordinary tables of {@code schema} with their size (pages, estimated rows), by name. */
  public List<PromotePlan.SourceTable> catalog(String schema) throws SQLException {
    List<PromotePlan.SourceTable> out = new ArrayList<>();
    try (PreparedStatement ps = session.prepareStatement(
        "SELECT k.relname, pg_relation_size(k.oid) / current_setting('block_size')::bigint, k.reltuples::bigint "
            + "FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
            + "WHERE n.nspname = ? AND k.relkind IN ('r', 'p') AND NOT k.relispartition ORDER BY k.relname")) {
      ps.setString(1, schema);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          long pages = rs.getLong(2);
          long tuples = rs.getLong(3); // -1: never analyzed; a guess of 100 rows a page only sizes the ranges
          out.add(new PromotePlan.SourceTable(rs.getString(1), pages, tuples >= 0 ? tuples : pages * 100));
        }
      }
    } catch (SQLException e) {
      throw explain(e, "reading the source's table list");
    }
    return out;
  }

  /**
   * Opens the transaction every source read of the run shares: REPEATABLE READ, the tables locked in
   * ACCESS SHARE mode first (nobody can drop, rename or rewrite them until the run ends), then its
   * snapshot exported for the copy's readers and the checksums. It ends when the session closes.
   */
  public String exportSnapshot(List<PromotePlan.Table> tables) throws SQLException {
    try {
      List<String> names = new ArrayList<>();
      for (PromotePlan.Table t : tables) {
        names.add(t.source().quoted());
      }
      return Db.exportSnapshot(session, names, lockTimeoutSeconds);
    } catch (SQLException e) {
      throw explain(e, "opening the source snapshot");
    }
  }

  /**
   * Reads every table's definition (on {@link #CATALOG_WORKERS} connections) and starts its checksum
   * in {@code snapshot}, as {@code target} computes it, on the checksum workers.
   */
  public Map<PromotePlan.Table, Read> read(List<PromotePlan.Table> tables, TargetDatabase target, String snapshot)
      throws Exception {
    Map<PromotePlan.Table, CompletableFuture<TableDefinition>> defs = new LinkedHashMap<>();
    try (SqlWorkers catalog = new SqlWorkers(config, "warehouse-promote-catalog", CATALOG_WORKERS, phases)) {
      for (PromotePlan.Table t : tables) {
        defs.put(t, catalog.submit("source catalog", c -> TableDefinition.read(c, t.source())));
      }
      Map<PromotePlan.Table, Read> out = new LinkedHashMap<>();
      for (PromotePlan.Table t : tables) {
        TableDefinition def = SqlWorkers.join(defs.get(t));
        out.put(t, new Read(def, checksum(t, def, target, snapshot)));
      }
      return out;
    } catch (SQLException e) {
      throw explain(e, "reading the source tables' definitions");
    }
  }

  private CompletableFuture<TableChecksum> checksum(PromotePlan.Table t, TableDefinition def, TargetDatabase target,
      String snapshot) {
    return Checksums.sum(checksums, "source checksum", PostgresTarget.ctidSlices(t.pages()),
        (c, slice) -> Db.inSnapshot(c, snapshot, t.source().quoted(),
            () -> target.sourceChecksum(c, t.source(), def, slice)));
  }

  /** Throws a lock timeout or a lost connection as one line; returns any other error, to be rethrown. */
  private SQLException explain(SQLException e, String during) {
    if (LockTimeouts.isLockTimeout(e)) {
      throw LockTimeouts.explain(e, "the source tables", lockTimeoutSeconds, WHY_LOCKED);
    }
    if (ConnectionLoss.isConnectionLoss(e)) {
      throw ConnectionLoss.explain(e, during);
    }
    return e;
  }

  /** How to connect to the source (the copy's readers do). */
  public JdbcConfig config() {
    return config;
  }

  /** Whether the session holding the run's snapshot is still there (the copy's readers need it). */
  boolean alive() {
    return Db.isAlive(session);
  }

  @Override
  public void close() throws SQLException {
    checksums.close();
    session.close();
  }
}
