package org.warehouse.pipelines.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.ingest.SinascCsvWriter;

/** ingest on Flink's embedded mini-cluster (parallelism 2), gzipped Latin-1 files, against the SQL oracle. */
public class IngestFlinkTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void loadsGzippedFilesInParallelOnFlinkAsTheOracleSays() throws Exception {
    String s = "s_flink";
    Path dir = tmp.newFolder("flink").toPath();
    List<SinascCsvWriter.FileResult> files = IngestPipelineTest.generate(dir, 4000, 4, 0.01, 61, "--gzip=true");
    String[] flink = {"--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2", "--maxRejectRatio=0.05"};
    try (Connection c = DB.connect()) {
      IngestPipelineTest.createSchema(c, s);
      IngestPipeline.run(IngestPipelineTest.options(DB, s, dir + "/sinasc_*.csv.gz", flink));
      IngestOracle.assertMatchesLatin1(c, s, IngestPipelineTest.paths(files));
      IngestOracle.assertBronzeMatches(c, s);
      IngestPipelineTest.assertRejectsAreTheDamagedLines(c, s, files);
      String before = IngestPipelineTest.state(c, s);
      assertThat(IngestPipeline.run(IngestPipelineTest.options(DB, s, dir + "/*.gz", flink)), nullValue());
      assertThat(IngestPipelineTest.state(c, s), equalTo(before));
      assertThat(org.warehouse.transforms.jdbc.Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_files"), is(4L));
    }
  }
}
