package org.warehouse.pipelines.common;

import org.apache.beam.sdk.options.PipelineOptions;

/** One entry of {@code scripts/run}: a pipeline's name, one-line summary, options and entry point. */
public final class Command<O extends PipelineOptions> {
  /** A pipeline's run method with the launcher's report. */
  @FunctionalInterface
  public interface Runner<O> {
    void run(O options, RunReport report) throws Exception;
  }

  private final String name;
  private final String summary;
  private final Class<O> optionsClass;
  private final Runner<O> runner;
  private final boolean usesDatabase;

  private Command(String name, String summary, Class<O> optionsClass, Runner<O> runner, boolean usesDatabase) {
    this.name = name;
    this.summary = summary;
    this.optionsClass = optionsClass;
    this.runner = runner;
    this.usesDatabase = usesDatabase;
  }

  public static <O extends PipelineOptions> Command<O> of(
      String name, String summary, Class<O> optionsClass, Runner<O> runner) {
    return new Command<>(name, summary, optionsClass, runner, true);
  }

  public String name() {
    return name;
  }

  public String summary() {
    return summary;
  }

  public Class<O> optionsClass() {
    return optionsClass;
  }

  public boolean usesDatabase() {
    return usesDatabase;
  }

  public void run(PipelineOptions options, RunReport report) throws Exception {
    runner.run(options.as(optionsClass), report);
  }
}
