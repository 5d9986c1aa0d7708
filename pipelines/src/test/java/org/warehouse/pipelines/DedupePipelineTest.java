package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.warehouse.pipelines.DedupeTestSupport.checksum;
import static org.warehouse.pipelines.DedupeTestSupport.exceptBothWays;
import static org.warehouse.pipelines.DedupeTestSupport.options;
import static org.warehouse.pipelines.DedupeTestSupport.oracle;

import java.sql.Connection;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.dedupe.DedupeTarget;
import org.warehouse.pipelines.dedupe.DedupePipeline;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.childtables.ChildTable;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * The whole story on generated breezeway data (F=0.001, ~36K rows) with the shipped config, on
 * Flink [local]: survivors = the DISTINCT ON oracle per table; a dependent view and a grant keep
 * working (same OID); a second run changes nothing; --rollback restores the exact rows (checksum).
 */
public class DedupePipelineTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  @Test
  public void dedupeMatchesOracleKeepsViewAndGrantSecondRunNoOpRollbackRestores() throws Exception {
    GeneratePipeline.run(PipelineOptionsFactory.fromArgs(concat(DB.connectionArgs(), "--births=0",
        "--childScale=0.001", "--runner=DirectRunner")).as(GeneratePipeline.GenerateOptions.class));
    Map<ChildTable, String> before = new HashMap<>();
    long oid;
    try (Connection c = DB.connect()) {
      // Edge cases the generator does not make at this scale: NULL keys and a NULL synced_at.
      Db.execute(c, "INSERT INTO breezeway.task_photos (task_pk, photo_id, caption, synced_at) VALUES "
          + "(1, NULL, 'lost id', now()), (1, NULL, 'lost id again', now())");
      Db.execute(c, "UPDATE breezeway.property_photos SET synced_at = NULL WHERE id IN (SELECT min(id) FROM "
          + "breezeway.property_photos GROUP BY property_pk, photo_id LIMIT 3)");
      for (ChildTable t : ChildTable.values()) {
        Db.execute(c, "CREATE TABLE breezeway.orig_" + t.tableName() + " AS SELECT * FROM breezeway." + t.tableName());
        before.put(t, checksum(c, "breezeway." + t.tableName()));
      }
      Db.execute(c, "CREATE VIEW breezeway.photo_counts AS SELECT property_pk, count(*) AS photos "
          + "FROM breezeway.property_photos GROUP BY property_pk");
      Db.execute(c, "DROP ROLE IF EXISTS dedupe_reader_" + DB.databaseName());
      Db.execute(c, "CREATE ROLE dedupe_reader_" + DB.databaseName());
      Db.execute(c, "GRANT USAGE ON SCHEMA breezeway TO dedupe_reader_" + DB.databaseName());
      Db.execute(c, "GRANT SELECT ON breezeway.property_photos, breezeway.photo_counts TO dedupe_reader_"
          + DB.databaseName());
      oid = Db.queryLong(c, "SELECT 'breezeway.property_photos'::regclass::oid::bigint");
    }
    String config = TestDatabase.repoRoot().resolve("config/dedupe-breezeway.conf").toString();
    RunReport report = new RunReport("dedupe");
    DedupePipeline.run(options(DB, "--config=" + config, "--runner=FlinkRunner", "--flinkMaster=[local]",
        "--parallelism=2"), report);

    try (Connection c = DB.connect()) {
      for (ChildTable t : ChildTable.values()) {
        DedupeTarget d = DedupeTarget.of("breezeway." + t.tableName(), String.join(",", t.naturalKey()), "synced_at", "public");
        String keys = String.join(", ", t.naturalKey());
        String expected = oracle("breezeway.orig_" + t.tableName(), keys, d.keyNotNull(""), d.keyAnyNull());
        assertThat(t + " survivors vs DISTINCT ON oracle",
            exceptBothWays(c, "SELECT * FROM breezeway." + t.tableName(), expected), equalTo(0L));
        assertThat(t + " duplicates left", Db.queryLong(c, "SELECT count(*) FROM (SELECT 1 FROM breezeway." + t.tableName()
            + " WHERE " + d.keyNotNull("") + " GROUP BY " + keys + " HAVING count(*) > 1) x"), equalTo(0L));
        assertThat(t + " constraint", Db.queryLong(c, "SELECT count(*) FROM pg_constraint WHERE conname = '"
            + d.constraintName() + "' AND contype = 'u'"), equalTo(1L));
        // the backup holds exactly the pre-run rows (nothing was inserted during this run)
        assertThat(t + " backup = original rows", exceptBothWays(c, "SELECT * FROM " + d.backupTable().quoted(),
            "SELECT * FROM breezeway.orig_" + t.tableName()), equalTo(0L));
        assertThat(t + " no work tables left", Db.queryLong(c, "SELECT count(*) FROM pg_class WHERE relname LIKE '"
            + t.tableName() + "\\_\\_dedupe%' AND relnamespace = 'breezeway'::regnamespace"), equalTo(0L));
      }
      assertThat("NULL-key rows kept", Db.queryLong(c, "SELECT count(*) FROM breezeway.task_photos WHERE photo_id IS NULL"),
          equalTo(Db.queryLong(c, "SELECT count(*) FROM breezeway.orig_task_photos WHERE photo_id IS NULL")));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM breezeway.task_photos WHERE photo_id IS NULL"), greaterThan(1L));
      assertThat(Db.queryLong(c, "SELECT 'breezeway.property_photos'::regclass::oid::bigint"), equalTo(oid));
      assertThat(Db.queryLong(c, "SELECT sum(photos) FROM breezeway.photo_counts"),
          equalTo(Db.countRows(c, TableRef.of("breezeway", "property_photos"))));
      Db.execute(c, "SET ROLE dedupe_reader_" + DB.databaseName());
      assertThat(Db.queryLong(c, "SELECT count(*) FROM breezeway.photo_counts"), greaterThan(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM breezeway.property_photos"), equalTo(16L));
      Db.execute(c, "RESET ROLE");
    }
    assertThat(report.tables().size(), equalTo(6));
    java.util.Map<?, ?> details = (java.util.Map<?, ?>) report.toMap("x", 0, null).get("details");
    assertThat(String.valueOf(details.get("breezeway.property_photos.replacedBy")), equalTo("truncate"));
    // reservation_guests has no duplicates: every row survives, so its duplicates (none) are deleted
    // instead of TRUNCATE + re-insert of the whole table under an exclusive lock
    assertThat(String.valueOf(details.get("breezeway.reservation_guests.replacedBy")), equalTo("delete"));

    // Second run: nothing to do, nothing changed (backups kept, rows identical).
    Map<ChildTable, String> afterFirst = new HashMap<>();
    try (Connection c = DB.connect()) {
      for (ChildTable t : ChildTable.values()) {
        afterFirst.put(t, checksum(c, "breezeway." + t.tableName()) + "|"
            + checksum(c, "breezeway." + t.tableName() + "_dedupe_backup"));
      }
    }
    RunReport second = new RunReport("dedupe");
    DedupePipeline.run(options(DB, "--config=" + config), second);
    try (Connection c = DB.connect()) {
      for (ChildTable t : ChildTable.values()) {
        assertThat(t + " unchanged by the second run", checksum(c, "breezeway." + t.tableName()) + "|"
            + checksum(c, "breezeway." + t.tableName() + "_dedupe_backup"), equalTo(afterFirst.get(t)));
      }
    }
    for (Map<String, Object> t : second.tables()) {
      assertThat(String.valueOf(t.get("action")), equalTo("unchanged"));
    }

    // Rollback through the launcher: exact pre-run rows, constraints dropped, backups gone.
    DedupeTestSupport.Launch rollback = DedupeTestSupport.launchDedupe(DB, "--config=" + config, "--rollback",
        "--runner=DirectRunner");
    assertThat(rollback.err, rollback.code, equalTo(0));
    try (Connection c = DB.connect()) {
      for (ChildTable t : ChildTable.values()) {
        assertThat(t + " rolled back", checksum(c, "breezeway." + t.tableName()), equalTo(before.get(t)));
        assertThat(exceptBothWays(c, "SELECT * FROM breezeway." + t.tableName(),
            "SELECT * FROM breezeway.orig_" + t.tableName()), equalTo(0L));
        assertThat(Db.tableExists(c, TableRef.of("breezeway", t.tableName() + "_dedupe_backup")), equalTo(false));
      }
      assertThat(Db.queryLong(c, "SELECT count(*) FROM pg_constraint WHERE conrelid::regclass::text LIKE 'breezeway.%' "
          + "AND contype = 'u'"), equalTo(0L));
      assertThat(Db.queryLong(c, "SELECT 'breezeway.property_photos'::regclass::oid::bigint"), equalTo(oid));
      Db.execute(c, "DROP OWNED BY dedupe_reader_" + DB.databaseName());
      Db.execute(c, "DROP ROLE dedupe_reader_" + DB.databaseName());
    }
  }

  static String[] concat(String[] a, String... b) {
    String[] r = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
