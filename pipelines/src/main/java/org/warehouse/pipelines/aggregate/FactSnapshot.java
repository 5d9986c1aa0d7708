package org.warehouse.pipelines.aggregate;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.transforms.births.Dimensions;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.births.ReadBirths;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * The run's one consistent read: a REPEATABLE READ transaction on its own session that locks the fact
 * and dimension tables in ACCESS SHARE mode (nobody can drop, rename or rewrite them until the run
 * ends; writers are not blocked) and exports its snapshot. The fact table's row counts and id range
 * and the dimensions' rows are read in it, and every range reader imports it, so the published tables
 * are the fact table of one moment, whatever commits meanwhile. Open until closed.
 */
final class FactSnapshot implements AutoCloseable {
  static final String APPLICATION_NAME = "warehouse-aggregate-snapshot";

  /** What the snapshot holds of the fact table. */
  record FactStats(long rows, long rowsWithCnes, long minId, long maxId) {}

  private final Connection session;
  private final String id;
  private final FactStats stats;
  private final Dimensions.Rows dimensions;
  private final boolean categoryColumns;

  private FactSnapshot(Connection session, String id, FactStats stats, Dimensions.Rows dimensions,
      boolean categoryColumns) {
    this.session = session;
    this.id = id;
    this.stats = stats;
    this.dimensions = dimensions;
    this.categoryColumns = categoryColumns;
  }

  /** Checks the inputs exist, then opens the snapshot and reads the fact statistics and dimensions in it. */
  static FactSnapshot open(JdbcConfig db, AggregatePlan plan) throws SQLException {
    Connection c = db.connect(APPLICATION_NAME);
    try {
      boolean categoryColumns = checkColumns(c, plan);
      String id = exportLockingInputs(c, plan);
      Dimensions.Rows dims = Dimensions.load(c, plan.dimensions().get(0).schema());
      if (dims.municipalities().isEmpty()) {
        throw new WarehouseException("table " + plan.dimensions().get(2) + " is empty: " + LOAD_HINT);
      }
      FactStats stats = stats(c, plan.fact());
      if (stats.rows() == 0 && !plan.allowEmpty()) {
        throw new WarehouseException("table " + plan.fact() + " is empty: refusing to replace the agg tables with "
            + "empty ones (load births first, or pass --allowEmpty=true to publish empty agg tables)");
      }
      return new FactSnapshot(c, id, stats, dims, categoryColumns);
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  private static final String LOAD_HINT = "load the dimensions with `scripts/run load-reference` first";

  /** Every input has its columns; true when the fact table also has {@link ReadBirths#CATEGORY_COLUMNS}. */
  private static boolean checkColumns(Connection c, AggregatePlan plan) throws SQLException {
    List<String> required = new ArrayList<>(FactBirths.COLUMNS);
    required.removeAll(ReadBirths.CATEGORY_COLUMNS);
    Db.requireColumns(c, plan.fact(), required,
        "create it with `scripts/run generate` or `scripts/run ingest`, or name another with --factTable");
    Db.requireColumns(c, plan.dimensions().get(0), Dimensions.REGION_COLUMNS, LOAD_HINT);
    Db.requireColumns(c, plan.dimensions().get(1), Dimensions.STATE_COLUMNS, LOAD_HINT);
    Db.requireColumns(c, plan.dimensions().get(2), Dimensions.MUNICIPALITY_COLUMNS, LOAD_HINT);
    return Db.columns(c, plan.fact()).keySet().containsAll(ReadBirths.CATEGORY_COLUMNS);
  }

  /** ACCESS SHARE on every input before the snapshot is taken (as pg_dump does), within the lock timeout. */
  private static String exportLockingInputs(Connection c, AggregatePlan plan) throws SQLException {
    List<String> tables = new ArrayList<>();
    tables.add(plan.fact().quoted());
    plan.dimensions().forEach(d -> tables.add(d.quoted()));
    try {
      return Db.exportSnapshot(c, tables, plan.lockTimeoutSeconds());
    } catch (SQLException e) {
      if (LockTimeouts.isLockTimeout(e)) {
        throw LockTimeouts.explain(e, plan.fact() + " and the dimension tables", plan.lockTimeoutSeconds(),
            "a session holds one exclusively: a table swap or an ALTER?");
      }
      throw e;
    }
  }

  private static FactStats stats(Connection c, TableRef fact) throws SQLException {
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT count(*), count(cnes_code), coalesce(min(birth_id), 0), "
            + "coalesce(max(birth_id), 0) FROM " + fact.quoted())) {
      rs.next();
      return new FactStats(rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4));
    }
  }

  /** The exported snapshot's id, for {@code SET TRANSACTION SNAPSHOT}. */
  String id() {
    return id;
  }

  FactStats stats() {
    return stats;
  }

  Dimensions.Rows dimensions() {
    return dimensions;
  }

  /** False for a fact table made before gestation_category and prenatal_category existed. */
  boolean hasCategoryColumns() {
    return categoryColumns;
  }

  /** False once the snapshot's session has ended (readers that have not imported it yet then fail). */
  boolean isOpen() {
    return Db.isAlive(session);
  }

  /**
   * Ends the snapshot's session, and with it its read-only transaction and locks (closing a session
   * rolls back its open transaction on the server; a session already gone has nothing left to end).
   */
  @Override
  public void close() throws SQLException {
    session.close();
  }
}
