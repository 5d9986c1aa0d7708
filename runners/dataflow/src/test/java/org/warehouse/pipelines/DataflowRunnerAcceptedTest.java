package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import org.apache.beam.runners.dataflow.DataflowRunner;
import org.apache.beam.runners.dataflow.options.DataflowPipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.pipelines.aggregate.AggregatePipeline;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/**
 * The -Pdataflow build: the launcher resolves {@code --runner=DataflowRunner} and asks for Dataflow's
 * own required options. Nothing here reaches Google Cloud (no project is ever given).
 */
public class DataflowRunnerAcceptedTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  @Test
  public void dataflowRunnerIsRegisteredWithTheLauncher() {
    PipelineOptionsFactory.register(AggregatePipeline.AggregateOptions.class);
    // the options docs/operations.md shows for a real submission
    AggregatePipeline.AggregateOptions o = PipelineOptionsFactory
        .fromArgs("--runner=DataflowRunner", "--project=my-gcp-project", "--region=southamerica-east1",
            "--tempLocation=gs://my-bucket/warehouse/tmp", "--stagingLocation=gs://my-bucket/warehouse/staging",
            "--network=warehouse-vpc", "--subnetwork=regions/southamerica-east1/subnetworks/warehouse",
            "--usePublicIps=false", "--serviceAccount=warehouse-pipelines@my-gcp-project.iam.gserviceaccount.com",
            "--maxNumWorkers=4", "--numberOfWorkerHarnessThreads=2", "--partitions=16",
            "--jdbcUrl=jdbc:postgresql://10.20.0.5:5432/warehouse")
        .as(AggregatePipeline.AggregateOptions.class);
    assertEquals(DataflowRunner.class, o.getRunner());
    DataflowPipelineOptions d = o.as(DataflowPipelineOptions.class);
    assertEquals("my-gcp-project", d.getProject());
    assertEquals("southamerica-east1", d.getRegion());
    assertEquals("gs://my-bucket/warehouse/tmp", d.getTempLocation());
    assertEquals("warehouse-vpc", d.getNetwork());
    assertEquals(Boolean.FALSE, d.getUsePublicIps());
    assertEquals(4, d.getMaxNumWorkers());
    assertEquals(16, o.getPartitions());
  }

  /** This jar has no Flink runner: a run without --runner says what to give instead of Beam's runner list. */
  @Test
  public void withoutARunnerTheLauncherAsksForDataflowOrDirect() throws Exception {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(new String[] {"generate-csv", "--out=" + System.getProperty("java.io.tmpdir") + "/unused",
        "--births=1"}, new PrintStream(new ByteArrayOutputStream(), true), new PrintStream(err, true));
    String e = err.toString(StandardCharsets.UTF_8);
    assertEquals(e, Main.USAGE, code);
    assertThat(e, containsString("error: this jar has no Flink runner, the default for generate-csv: add "
        + "--runner=DataflowRunner (with --project, --region, …) or --runner=DirectRunner"));
  }

  /**
   * Through the launcher against a real database: the driver-side work runs, then the Dataflow runner
   * itself is constructed and rejects the run for want of a project (exit 2, Dataflow's own message),
   * before anything could reach Google Cloud.
   */
  @Test
  public void launcherHandsTheRunToDataflowRunnerWhichAsksForItsProject() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    List<String> args = new ArrayList<>(List.of("load-reference", "--runner=DataflowRunner"));
    args.addAll(List.of(DB.connectionArgs()));
    int code = Main.run(args.toArray(new String[0]), new PrintStream(out, true), new PrintStream(err, true));
    String e = err.toString(StandardCharsets.UTF_8);
    assertEquals(e, Main.USAGE, code);
    assertThat(e, containsString("error: missing required option --project (Project id. Required when running a "
        + "Dataflow in the cloud."));
    assertThat(e, not(containsString("Unknown 'runner'")));
    try (Connection c = DB.connect()) { // the failed run published nothing
      assertEquals(0, Db.queryLong(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'dim\\_%'"));
    }
  }
}
