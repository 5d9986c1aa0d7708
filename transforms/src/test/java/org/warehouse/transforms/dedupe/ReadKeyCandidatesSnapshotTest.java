package org.warehouse.transforms.dedupe;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.not;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Every id range is read in the exported snapshot: rows updated, deleted and re-keyed by another session
 * after the export (committed before the pipeline reads) are not seen, on both read paths. The oracle is
 * PostgreSQL's DISTINCT ON computed inside the exporting transaction.
 */
public class ReadKeyCandidatesSnapshotTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  private static final String SURVIVORS = "SELECT id FROM ((SELECT DISTINCT ON (a, b) id FROM snap.t WHERE a IS NOT NULL "
      + "AND b IS NOT NULL ORDER BY a, b, synced_at DESC, id DESC) UNION ALL (SELECT id FROM snap.t WHERE a IS NULL "
      + "OR b IS NULL)) s ORDER BY id";

  /** (table shard, survivor per natural key) → the survivors' ids. */
  static final class SurvivorIds extends DoFn<KV<Integer, Map<String, Candidate>>, Long> {
    private static final long serialVersionUID = 1L;

    @ProcessElement
    public void process(@Element KV<Integer, Map<String, Candidate>> shard, OutputReceiver<Long> out) {
      for (Candidate c : shard.getValue().values()) {
        out.output(c.id);
      }
    }
  }

  private static List<Long> ids(Connection c, String sql) throws SQLException {
    List<Long> ids = new ArrayList<>();
    try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
      while (rs.next()) {
        ids.add(rs.getLong(1));
      }
    }
    return ids;
  }

  @Test
  public void everyRangeSeesTheExportedSnapshotNotLaterWrites() throws Exception {
    long maxId;
    try (Connection c = DB.connect()) {
      Db.execute(c, "CREATE SCHEMA snap");
      Db.execute(c, "CREATE TABLE snap.t (id bigserial PRIMARY KEY, a bigint, b bigint, synced_at timestamptz)");
      Db.execute(c, "INSERT INTO snap.t (a, b, synced_at) SELECT g % 40, g % 3, timestamptz '2024-01-01 00:00+00' "
          + "+ ((g * 37) % 20) * interval '1 hour' FROM generate_series(1, 4000) g");
      Db.execute(c, "INSERT INTO snap.t (a, b, synced_at) VALUES (NULL, 1, now())");
      maxId = Db.queryLong(c, "SELECT max(id) FROM snap.t");
    }
    try (Connection exporter = DB.connect(); Connection writer = DB.connect()) {
      exporter.setAutoCommit(false);
      Db.execute(exporter, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      String snapshot = Db.queryString(exporter, "SELECT pg_export_snapshot()");
      List<Long> atExport = ids(exporter, SURVIVORS);
      // Committed after the export, before any range is read: newer syncs of old rows, deletes, an insert.
      Db.execute(writer, "UPDATE snap.t SET synced_at = synced_at + interval '1 year' WHERE id % 7 = 0");
      Db.execute(writer, "DELETE FROM snap.t WHERE id % 11 = 0");
      Db.execute(writer, "UPDATE snap.t SET b = NULL WHERE id % 13 = 0");
      List<Long> afterWrites = ids(writer, SURVIVORS);
      assertThat("the writes change the survivors", afterWrites, not(atExport));
      for (boolean partial : new boolean[] {true, false}) {
        TestPipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);
        PCollection<Long> survivors = p
            .apply("Read", new ReadKeyCandidates(DB.config(), 0, TableRef.of("snap", "t"), List.of("a", "b"),
                "synced_at", 1, maxId, 5, partial).inSnapshot(snapshot))
            .apply("KeyByTableShard", ParDo.of(new KeyByTableShard(4)))
            .setCoder(KvCoder.of(VarIntCoder.of(), PickSurvivorsFn.inputCoder()))
            .apply("Pick", Combine.perKey(new PickSurvivorsFn()))
            .apply("Ids", ParDo.of(new SurvivorIds()));
        PAssert.that(survivors).containsInAnyOrder(atExport);
        p.run().waitUntilFinish();
      }
      exporter.commit();
    }
  }
}
