package org.warehouse.pipelines.ingest;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * The run table (named per run) that each file's worker writes one summary row into — in the file's own
 * transaction when it commits, on its own when the file is refused — and the checks on it. It is a
 * logged table (one row per file): after a server crash it still says which files this run committed.
 */
final class IngestVerify {
  private IngestVerify() {}

  /** What became of one file read by this run; {@code refusal} null = committed. */
  record FileOutcome(String name, long lines, long loaded, long rejected, long deleted, String sha256, String refusal) {
    boolean committed() {
      return refusal == null;
    }
  }

  static void createRunTable(Connection c, TableRef runTable) throws SQLException {
    Db.execute(c, "CREATE TABLE " + runTable.quoted() + " (file_name text NOT NULL, file_id bigint NOT NULL, "
        + "lines_read bigint NOT NULL, rows_loaded bigint NOT NULL, rows_rejected bigint NOT NULL, "
        + "sha256 text NOT NULL, error text, records_deleted bigint NOT NULL DEFAULT 0)");
  }

  /** Every summary row of the run table, in the order written. */
  static List<FileOutcome> outcomes(Connection c, TableRef runTable) throws SQLException {
    List<FileOutcome> rows = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT file_name, lines_read, rows_loaded, rows_rejected, records_deleted, "
            + "sha256, error FROM " + runTable.quoted())) {
      while (rs.next()) {
        rows.add(new FileOutcome(rs.getString(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5),
            rs.getString(6), rs.getString(7)));
      }
    }
    return rows;
  }

  /**
   * Per file read: exactly one summary row written by its worker, loaded + rejected = lines read. A
   * file gone since planning has none: it is refused ("disappeared"). Returns the outcome by name.
   */
  static Map<String, FileOutcome> verify(Connection c, TableRef runTable, IngestPlan plan) throws SQLException {
    Map<String, FileOutcome> byName = new HashMap<>();
    Map<String, Integer> rows = new HashMap<>();
    for (FileOutcome o : outcomes(c, runTable)) {
      byName.put(o.name(), o);
      rows.merge(o.name(), 1, Integer::sum);
    }
    for (IngestPlan.PlannedFile f : plan.toRead()) {
      FileOutcome o = byName.get(f.name());
      if (o == null) {
        byName.put(f.name(), new FileOutcome(f.name(), 0, 0, 0, 0, null, "not read: it disappeared after the run listed it"));
      } else if (rows.get(f.name()) != 1 || (o.committed() && o.loaded() + o.rejected() != o.lines())) {
        throw new WarehouseException(f.name() + ": " + rows.get(f.name()) + " summaries, " + o.lines()
            + " lines read but " + o.loaded() + " loaded + " + o.rejected() + " rejected: check "
            + IngestTables.LEDGER + " and re-run");
      }
    }
    return byName;
  }
}
