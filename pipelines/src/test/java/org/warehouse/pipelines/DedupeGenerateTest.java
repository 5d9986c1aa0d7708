package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.sql.Connection;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.childtables.ChildTable;
import org.warehouse.transforms.jdbc.Db;

/** generate --childScale: the duplicate profile (rows, distinct keys per table) and determinism. */
public class DedupeGenerateTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  private static void generate(String... extra) throws Exception {
    GeneratePipeline.run(PipelineOptionsFactory.fromArgs(DedupePipelineTest.concat(DedupePipelineTest.concat(
        DB.connectionArgs(), "--births=0", "--childScale=0.0005", "--runner=DirectRunner"), extra))
        .as(GeneratePipeline.GenerateOptions.class));
  }

  @Test
  public void profileMatchesTheF1FiguresScaledAndTheSameSeedGivesTheSameRows() throws Exception {
    double f = 0.0005;
    generate();
    Map<ChildTable, String> first = new HashMap<>();
    try (Connection c = DB.connect()) {
      for (ChildTable t : ChildTable.values()) {
        String q = "breezeway." + t.tableName();
        String k = String.join(", ", t.naturalKey());
        assertThat(t + " rows", Db.queryLong(c, "SELECT count(*) FROM " + q), equalTo(t.rows(f)));
        assertThat(t + " distinct keys", Db.queryLong(c, "SELECT count(DISTINCT (" + k + ")) FROM " + q + " WHERE "
            + t.naturalKey().get(1) + " IS NOT NULL"), equalTo(t.unique(f)));
        first.put(t, DedupeTestSupport.checksum(c, q));
      }
      assertThat(Db.queryLong(c, "SELECT count(*) FROM breezeway.properties"),
          equalTo(org.warehouse.transforms.childtables.SyntheticChildren.parents("properties", f)));
      // the F=1 profile figures
      assertThat(ChildTable.PROPERTY_PHOTOS.rows(1) + "/" + ChildTable.PROPERTY_PHOTOS.unique(1), equalTo("10192750/16113"));
      assertThat(ChildTable.TASK_REQUIREMENTS.rows(1) + "/" + ChildTable.TASK_REQUIREMENTS.unique(1),
          equalTo("24174099/26580"));
      assertThat(ChildTable.RESERVATION_GUESTS.rows(1), equalTo(ChildTable.RESERVATION_GUESTS.unique(1)));
    }
    generate("--targetParallelism=3");
    try (Connection c = DB.connect()) {
      for (ChildTable t : ChildTable.values()) {
        assertThat(t + " same rows again", DedupeTestSupport.checksum(c, "breezeway." + t.tableName()), equalTo(first.get(t)));
      }
    }
  }
}
