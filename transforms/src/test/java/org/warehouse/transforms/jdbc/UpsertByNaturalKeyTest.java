package org.warehouse.transforms.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.Row;
import org.joda.time.Instant;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.warehouse.testing.TestDatabase;

/** The ETL-side fix: the same batch written twice leaves one row per key, with the newer payload. */
public class UpsertByNaturalKeyTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  @Rule public final transient TestPipeline p = TestPipeline.create();

  static final Schema SCHEMA = Schema.builder()
      .addInt64Field("property_pk").addInt64Field("photo_id").addNullableField("caption", Schema.FieldType.STRING)
      .addDateTimeField("synced_at").build();

  static List<Row> batch(String caption, long syncedMillis) {
    List<Row> rows = new ArrayList<>();
    for (long k = 0; k < 500; k++) {
      rows.add(Row.withSchema(SCHEMA).addValues(1 + k % 7, 100_000 + k, k % 50 == 0 ? null : caption + " " + k,
          new Instant(syncedMillis)).build());
    }
    return rows;
  }

  private void write(List<Row> rows) {
    TestPipeline run = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollection<Long> n = run.apply("Batch", Create.of(rows).withRowSchema(SCHEMA))
        .apply("Upsert", UpsertByNaturalKey.into(DB.config(), TableRef.of("bw", "photos"),
            List.of("property_pk", "photo_id")).keepingNewer("synced_at"));
    PAssert.thatSingleton(n).isEqualTo((long) rows.size());
    run.run().waitUntilFinish();
  }

  @Test
  public void sameBatchTwiceGivesNoDuplicatesAndTheNewerPayload() throws Exception {
    try (Connection c = DB.connect()) {
      Db.execute(c, "CREATE SCHEMA bw");
      Db.execute(c, "CREATE TABLE bw.photos (id bigserial PRIMARY KEY, property_pk bigint, photo_id bigint, "
          + "caption text, synced_at timestamptz, CONSTRAINT photos_property_pk_photo_id_key UNIQUE (property_pk, photo_id))");
    }
    write(batch("old", 1_700_000_000_000L));
    write(batch("new", 1_700_003_600_000L)); // an hour later: same keys, newer payload
    write(batch("stale", 1_600_000_000_000L)); // an older resend must not overwrite
    try (Connection c = DB.connect()) {
      assertThat(Db.queryLong(c, "SELECT count(*) FROM bw.photos"), equalTo(500L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM (SELECT 1 FROM bw.photos GROUP BY property_pk, photo_id "
          + "HAVING count(*) > 1) x"), equalTo(0L));
      // Oracle: every row carries the newer batch's caption and time (NULL captions stay NULL).
      assertThat(Db.queryLong(c, "SELECT count(*) FROM bw.photos WHERE synced_at = to_timestamp(1700003600) AND "
          + "caption IS NOT DISTINCT FROM CASE WHEN (photo_id - 100000) % 50 = 0 THEN NULL "
          + "ELSE 'new ' || (photo_id - 100000) END"), equalTo(500L));
    }
  }

  @Test
  public void statementQuotesIdentifiersAndRejectsBadOnes() {
    String sql = UpsertByNaturalKey.into(DB.config(), TableRef.of("bw", "photos"), List.of("property_pk", "photo_id"))
        .statement(SCHEMA);
    assertThat(sql, equalTo("INSERT INTO \"bw\".\"photos\" AS stored (\"property_pk\", \"photo_id\", \"caption\", "
        + "\"synced_at\") VALUES (?, ?, ?, ?) ON CONFLICT (\"property_pk\", \"photo_id\") DO UPDATE SET "
        + "\"caption\" = EXCLUDED.\"caption\", \"synced_at\" = EXCLUDED.\"synced_at\""));
    try {
      UpsertByNaturalKey.into(DB.config(), TableRef.of("bw", "photos"), List.of("x; drop"));
      throw new AssertionError("accepted a bad identifier");
    } catch (IllegalArgumentException expected) {
      assertThat(expected.getMessage().contains("not a valid identifier"), equalTo(true));
    }
  }
}
