package org.warehouse.transforms.repartition;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableRange;

/**
 * Copies ctid page ranges of a table into another table of the same database, on the server: per
 * range one {@code INSERT INTO destination (columns) SELECT columns FROM source WHERE <ctid range>},
 * so the rows never leave PostgreSQL and the ranges run in parallel on the runner's workers.
 *
 * <p>Each range commits in its own transaction together with its row in a ledger table ({@code
 * destination, from_page} is its primary key). A range that a runner retries after its commit finds
 * its ledger row and is skipped, so no row is ever copied twice. Output: {@code KV(destination, rows
 * inserted)} per range (0 for a skipped one).
 */
public final class CopyRangesInDatabase extends PTransform<PCollection<TableRange>, PCollection<KV<String, Long>>> {
  private static final long serialVersionUID = 1L;

  private final JdbcConfig db;
  private final String ledger;

  private CopyRangesInDatabase(JdbcConfig db, String ledger) {
    this.db = db;
    this.ledger = ledger;
  }

  /**
   * @param ledger quoted name of a table created by {@link #ledgerSql}; it also shows progress (the
   *     rows of the committed ranges)
   */
  public static CopyRangesInDatabase into(JdbcConfig db, String ledger) {
    return new CopyRangesInDatabase(db, ledger);
  }

  /** The ledger table's DDL. */
  public static String ledgerSql(String ledger) {
    return "CREATE TABLE " + ledger + " (destination text NOT NULL, from_page bigint NOT NULL, to_page bigint NOT NULL, "
        + "rows_copied bigint, PRIMARY KEY (destination, from_page))";
  }

  @Override
  public PCollection<KV<String, Long>> expand(PCollection<TableRange> ranges) {
    return ranges.apply("InsertRangeOnServer", ParDo.of(new CopyRangeFn(db, ledger)));
  }

  static final class CopyRangeFn extends DoFn<TableRange, KV<String, Long>> {
    private static final long serialVersionUID = 1L;
    private final Counter rowsCopied = Metrics.counter(CopyRangesInDatabase.class, "rowsCopied");
    private final Counter rangesCopied = Metrics.counter(CopyRangesInDatabase.class, "rangesCopied");
    private final Counter rangesSkipped = Metrics.counter(CopyRangesInDatabase.class, "rangesSkippedAsDone");
    private final JdbcConfig db;
    private final String ledger;
    private transient Connection connection;

    CopyRangeFn(JdbcConfig db, String ledger) {
      this.db = db;
      this.ledger = ledger;
    }

    @Setup
    public void setup() throws SQLException {
      connection = db.connect("warehouse-repartition-copy");
      connection.setAutoCommit(false);
    }

    @ProcessElement
    public void process(@Element TableRange r, OutputReceiver<KV<String, Long>> out) throws SQLException {
      try {
        long rows = copy(r);
        connection.commit();
        if (rows < 0) {
          rangesSkipped.inc();
          out.output(KV.of(r.destination(), 0L));
        } else {
          rowsCopied.inc(rows);
          rangesCopied.inc();
          out.output(KV.of(r.destination(), rows));
        }
      } catch (SQLException e) {
        connection.rollback();
        throw new WarehouseException("copying " + r + " failed: " + e.getMessage(), e);
      }
    }

    /** Copies one range in the open transaction; -1 when its ledger row says it is done. */
    private long copy(TableRange r) throws SQLException {
      try (Statement st = connection.createStatement()) {
        // a crash loses the whole unfinished copy anyway (the next run starts over)
        st.execute("SET LOCAL synchronous_commit = off");
      }
      try (PreparedStatement ps = connection.prepareStatement("INSERT INTO " + ledger
          + " (destination, from_page, to_page) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")) {
        ps.setString(1, r.destination());
        ps.setLong(2, r.fromPage());
        ps.setLong(3, r.toPage());
        if (ps.executeUpdate() == 0) {
          return -1;
        }
      }
      long rows;
      try (Statement st = connection.createStatement()) {
        rows = st.executeLargeUpdate("INSERT INTO " + r.destination() + " (" + r.columns() + ") SELECT " + r.columns()
            + " FROM " + r.source() + " WHERE " + r.where());
      }
      try (PreparedStatement ps = connection.prepareStatement(
          "UPDATE " + ledger + " SET rows_copied = ? WHERE destination = ? AND from_page = ?")) {
        ps.setLong(1, rows);
        ps.setString(2, r.destination());
        ps.setLong(3, r.fromPage());
        ps.executeUpdate();
      }
      return rows;
    }

    @Teardown
    public void teardown() {
      Db.closeQuietly(connection);
    }
  }
}
