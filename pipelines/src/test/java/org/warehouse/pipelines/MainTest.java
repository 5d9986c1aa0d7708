package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Test;
import org.warehouse.pipelines.common.Command;

/** The launcher's own contract: help, usage errors, and options that can live in one JVM. */
public class MainTest {
  @Test
  public void everyPipelinesOptionsCanBeRegisteredTogether() {
    // Beam rejects a property declared with different annotations in two interfaces of one JVM;
    // a scheduler or a test that runs several pipelines in one process must not hit that.
    for (Command<?> c : Main.commands().values()) {
      PipelineOptionsFactory.register(c.optionsClass());
    }
    for (Command<?> c : Main.commands().values()) {
      PipelineOptions o = PipelineOptionsFactory.fromArgs("--runner=DirectRunner").as(c.optionsClass());
      assertEquals(c.optionsClass(), o.as(c.optionsClass()).getClass().getInterfaces()[0]);
    }
  }

  @Test
  public void helpListsEveryPipelineAndItsOptions() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    assertEquals(0, Main.run(new String[] {"--help"}, ps, ps));
    for (String name : Main.commands().keySet()) {
      assertThat(out.toString(StandardCharsets.UTF_8), containsString("  " + name + " "));
    }
    out.reset();
    assertEquals(0, Main.run(new String[] {"aggregate", "--help"}, ps, ps));
    assertThat(out.toString(StandardCharsets.UTF_8), containsString("--partitions=<int>   (default: 0)"));
    assertThat(out.toString(StandardCharsets.UTF_8), containsString("--jdbcUrl=<String>   (required)"));
  }

  @Test
  public void anUnknownOptionIsAUsageErrorNamingItAndTheCloseOptionsOfThatPipeline() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    // promote has --sourcePasswordFile and --targetPasswordFile (a name no options interface has: Beam
    // accepts any option of an interface registered in this JVM, and other tests register them all)
    assertEquals(2, Main.run(new String[] {"promote", "--sourceUrl=jdbc:postgresql://127.0.0.1:1/a",
        "--targetUrl=jdbc:postgresql://127.0.0.1:1/b", "--password=/p"}, ps, ps));
    assertThat(out.toString(StandardCharsets.UTF_8), containsString("error: unknown option --password for promote "
        + "(did you mean --sourcePasswordFile or --targetPasswordFile?) (see: scripts/run promote --help)"));
    out.reset();
    assertEquals(2, Main.run(new String[] {"aggregate", "--jdbcUrl=jdbc:postgresql://127.0.0.1:1/a", "--jdbcUlr=x"}, ps, ps));
    assertThat(out.toString(StandardCharsets.UTF_8), containsString("unknown option --jdbcUlr for aggregate (did you mean --jdbcUrl?)"));
    out.reset();
    assertEquals(2, Main.run(new String[] {"aggregate", "--jdbcUrl=jdbc:postgresql://127.0.0.1:1/a", "--frobnicate=1"}, ps, ps));
    assertThat(out.toString(StandardCharsets.UTF_8), containsString("error: unknown option --frobnicate for aggregate (see:"));
  }

  @Test
  public void aMissingRequiredOptionIsNamedWithItsDescription() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    assertEquals(2, Main.run(new String[] {"generate-csv", "--births=10"}, ps, ps));
    assertThat(out.toString(StandardCharsets.UTF_8), containsString("error: missing required option --out (Directory to "
        + "write the files into (created when missing)) (see: scripts/run generate-csv --help)"));
    // the form a runner's own check gives (DataflowRunner without --project)
    assertThat(Main.missingRequired("Missing required value for [public abstract java.lang.String org.apache.beam.runners."
        + "dataflow.options.DataflowPipelineOptions.getProject(), \"Project id.\"]. "),
        equalTo("missing required option --project (Project id.)"));
    assertThat(Main.missingRequired("some other error"), equalTo("some other error"));
  }

  @Test
  public void helpNamesEachPipelinesDefaultRunner() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    assertEquals(0, Main.run(new String[] {"--help"}, ps, ps));
    assertThat(out.toString(StandardCharsets.UTF_8), containsString("(promote, ingest, dedupe, repartition: the DirectRunner)"));
    for (String name : Main.commands().keySet()) {
      out.reset();
      assertEquals(0, Main.run(new String[] {name, "--help"}, ps, ps));
      // what the help says is the runner the launcher really adds to a run without --runner
      String added = Arrays.stream(Main.withRunnerDefaults(name, new String[0])).filter(a -> a.startsWith("--runner="))
          .findFirst().orElseThrow().substring("--runner=".length());
      assertThat(name, out.toString(StandardCharsets.UTF_8), containsString("(default " + added + "),"));
    }
    assertThat(Main.defaultRunner("aggregate"), equalTo("FlinkRunner"));
    for (String direct : List.of("promote", "ingest", "dedupe", "repartition")) {
      assertThat(direct, Main.defaultRunner(direct), equalTo("DirectRunner"));
    }
  }

  @Test
  public void noArgumentsIsUsageError() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    assertEquals(2, Main.run(new String[0], ps, ps));
  }
}
