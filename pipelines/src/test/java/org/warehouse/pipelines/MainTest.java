package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
  public void noArgumentsIsUsageError() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    assertEquals(2, Main.run(new String[0], ps, ps));
  }
}
