package org.warehouse.pipelines.repartition;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * The proof that the new table holds the original's rows, each in its month's partition: row count and
 * content checksum ({@link TableChecksum#rowHashSum}) of the original's rows grouped by the partition
 * their month belongs in, against the same of the new table grouped by the partition that holds each
 * row; and that no key of the original is missing. Each check may be limited to the rows matching a
 * condition on alias {@code t} (the online mode verifies the rows without pending changes at one
 * snapshot, then the changed keys under the switch lock). Reads only.
 */
public final class PartitionVerifier {
  private static final TableChecksum NONE = new TableChecksum(0, "0");

  private final RepartitionPlan plan;

  public PartitionVerifier(RepartitionPlan plan) {
    this.plan = plan;
  }

  /** Count and checksum of the original's rows matching {@code where} (null: all), per target partition. */
  public Map<String, TableChecksum> original(Connection c, String where) throws SQLException {
    Map<String, TableChecksum> out = new TreeMap<>();
    Db.execute(c, TableChecksum.SESSION_SETTINGS);
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT " + plan.monthOf("t") + ", count(*), " + TableChecksum.rowHashSum("t")
            + " FROM " + plan.table().quoted() + " AS t" + (where == null ? "" : " WHERE " + where) + " GROUP BY 1")) {
      while (rs.next()) {
        LocalDate month = rs.getDate(1) == null ? null : rs.getDate(1).toLocalDate();
        out.merge(plan.partitionOf(month), new TableChecksum(rs.getLong(2), rs.getString(3)), TableChecksum::plus);
      }
    }
    return out;
  }

  /** Count and checksum of the new table's rows matching {@code where} (null: all), per partition holding them. */
  public Map<String, TableChecksum> partitioned(Connection c, String where) throws SQLException {
    Map<String, TableChecksum> out = new TreeMap<>();
    Db.execute(c, TableChecksum.SESSION_SETTINGS);
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT k.relname, x.n, x.s FROM (SELECT t.tableoid, count(*) AS n, "
            + TableChecksum.rowHashSum("t") + " AS s FROM " + plan.staging().quoted() + " AS t"
            + (where == null ? "" : " WHERE " + where) + " GROUP BY 1) x JOIN pg_class k ON k.oid = x.tableoid")) {
      while (rs.next()) {
        out.put(rs.getString(1), new TableChecksum(rs.getLong(2), rs.getString(3)));
      }
    }
    return out;
  }

  /**
   * The same as {@link #partitioned} for the rows selected by {@code branches} (each a query yielding
   * {@code tid} = partition oid and {@code r} = the row's text, e.g. {@link ChangeCapture#locatedIn}).
   */
  public Map<String, TableChecksum> partitionedAt(Connection c, List<String> branches) throws SQLException {
    Map<String, TableChecksum> out = new TreeMap<>();
    if (branches.isEmpty()) {
      return out;
    }
    Db.execute(c, TableChecksum.SESSION_SETTINGS);
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT k.relname, y.n, y.s FROM (SELECT z.tid, count(*) AS n, "
            + TableChecksum.rowHashSum("z.r") + " AS s FROM (" + String.join(" UNION ALL ", branches) + ") z "
            + "GROUP BY 1) y JOIN pg_class k ON k.oid = y.tid")) {
      while (rs.next()) {
        out.put(rs.getString(1), new TableChecksum(rs.getLong(2), rs.getString(3)));
      }
    }
    return out;
  }

  /**
   * Throws, naming the first partition that differs, unless both sides are equal; returns the rows
   * compared. {@code scope} says which rows were compared (for the message).
   */
  public long compare(Map<String, TableChecksum> expected, Map<String, TableChecksum> actual, String scope) {
    Set<String> names = new TreeSet<>(expected.keySet());
    names.addAll(actual.keySet());
    long rows = 0;
    for (String name : names) {
      TableChecksum want = expected.getOrDefault(name, NONE);
      TableChecksum got = actual.getOrDefault(name, NONE);
      if (!want.equals(got)) {
        throw new WarehouseException("verification failed for partition " + name + " of " + plan.table() + " ("
            + scope + "): the original's rows of its months: " + want + "; the partition holds " + got
            + "; nothing changed (the original table is untouched)");
      }
      rows += got.rows();
    }
    return rows;
  }

  /** Keys of the original's rows matching {@code where} (null: all) that the new table lacks (0 is the proof). */
  public long missingKeys(Connection c, String where) throws SQLException {
    RowKey key = plan.shape().rowKey();
    long missing = Db.queryLong(c, "SELECT count(*) FROM " + plan.table().quoted() + " t WHERE NOT EXISTS (SELECT 1 FROM "
        + plan.staging().quoted() + " n WHERE " + key.equal("n", "t") + ")" + (where == null ? "" : " AND " + where));
    if (missing > 0) {
      throw new WarehouseException("verification failed for " + plan.table() + ": " + missing + " key(s) of the "
          + "original (" + String.join(", ", key.columns()) + ") are missing from the new table; nothing changed "
          + "(the original table is untouched)");
    }
    return missing;
  }

  /**
   * The tables a one-month query ({@code SELECT * … WHERE col in month}) scans on the published table,
   * from its {@code EXPLAIN}: exactly that month's partition when pruning works.
   */
  public List<String> scannedFor(Connection c, LocalDate month) throws SQLException {
    String json = Db.queryString(c, "EXPLAIN (FORMAT JSON) SELECT * FROM " + plan.table().quoted() + " WHERE "
        + plan.oneMonth(month));
    List<String> out = new ArrayList<>();
    try {
      collectRelations(new ObjectMapper().readTree(json), out);
    } catch (java.io.IOException e) {
      throw new WarehouseException("could not read the EXPLAIN output of a one-month query on " + plan.table(), e);
    }
    return out;
  }

  private static void collectRelations(JsonNode node, List<String> out) {
    if (node.has("Relation Name")) {
      out.add(node.get("Relation Name").asText());
    }
    for (JsonNode child : node) {
      collectRelations(child, out);
    }
  }
}
