package org.warehouse.pipelines.common;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * The runner a launch gets when the command line does not choose one: Flink's embedded mini-cluster
 * with parallelism = cores, except for the pipelines in {@link #DIRECT_BY_DEFAULT}; under Flink's CLI
 * the CLI's cluster; a remote {@code --flinkMaster} gets the launcher jar staged.
 */
public final class RunnerDefaults {
  private RunnerDefaults() {}

  /**
   * Pipelines whose default runner is the DirectRunner without its immutability/encodability checks
   * instead of Flink's mini-cluster, because their Beam work is small and Flink's fixed cost per job
   * (mini-cluster start, job graph) outweighs what it offers them (each pipeline's doc says why):
   * promote moves a few dozen COPY chunks; ingest is one long DoFn call per file; dedupe combines a
   * few thousand pre-reduced rows; repartition's elements are page ranges each copied by the server.
   * Any --runner or --flinkMaster given, or a run under Flink's CLI, keeps the usual rules.
   */
  public static final List<String> DIRECT_BY_DEFAULT = List.of("promote", "ingest", "dedupe", "repartition");

  public static String[] withRunnerDefaults(String command, String[] args) {
    boolean chosen = Arrays.stream(args).anyMatch(s -> s.startsWith("--runner=") || s.startsWith("--flinkMaster="));
    if (DIRECT_BY_DEFAULT.contains(command) && !chosen && !insideFlinkCli()) {
      List<String> a = new ArrayList<>(Arrays.asList(args));
      a.add("--runner=DirectRunner");
      if (a.stream().noneMatch(s -> s.startsWith("--enforceImmutability"))) {
        a.add("--enforceImmutability=false");
      }
      if (a.stream().noneMatch(s -> s.startsWith("--enforceEncodability"))) {
        a.add("--enforceEncodability=false");
      }
      if (command.equals("ingest") && a.stream().noneMatch(s -> s.startsWith("--targetParallelism"))) {
        // one file per worker thread, and each file keeps about two cores busy (its parser thread and two
        // PostgreSQL backends: fact rows, bronze partition); more files at once on 2 cores cost more CPU
        // (fact_births' primary key then takes inserts at several places instead of its rightmost
        // page): one file at a time per 2 cores (docs/ingest.md)
        a.add("--targetParallelism=" + Math.max(1, Runtime.getRuntime().availableProcessors() / 2));
      }
      return a.toArray(new String[0]);
    }
    return withRunnerDefaults(args);
  }

  /** The runner a run of {@code command} without --runner or --flinkMaster gets (what its help says). */
  public static String defaultRunner(String command) {
    return Arrays.stream(withRunnerDefaults(command, new String[0])).filter(a -> a.startsWith("--runner="))
        .map(a -> a.substring("--runner=".length())).findFirst().orElseThrow();
  }

  /** Flink's embedded mini-cluster with parallelism = cores, unless the user chose otherwise. */
  static String[] withRunnerDefaults(String[] args) {
    List<String> a = new ArrayList<>(Arrays.asList(args));
    boolean hasRunner = a.stream().anyMatch(s -> s.startsWith("--runner="));
    boolean flink = !hasRunner || a.stream().anyMatch(s -> s.matches("--runner=(org\\.apache\\.beam\\.runners\\.flink\\.)?FlinkRunner"));
    if (!hasRunner) {
      a.add("--runner=FlinkRunner");
    }
    if (flink) {
      boolean flinkCli = insideFlinkCli();
      if (a.stream().noneMatch(s -> s.startsWith("--flinkMaster="))) {
        // `flink run -c ...Main jar PIPELINE`: submit to the CLI's cluster, not a mini-cluster in the client
        a.add(flinkCli ? "--flinkMaster=[auto]" : "--flinkMaster=[local]");
      }
      // under `flink run`, -p or the cluster's parallelism.default decides
      if (!flinkCli && a.stream().noneMatch(s -> s.startsWith("--parallelism="))) {
        a.add("--parallelism=" + Runtime.getRuntime().availableProcessors());
      }
      if (a.stream().noneMatch(s -> s.startsWith("--fasterCopy"))) {
        a.add("--fasterCopy=true"); // our DoFns never mutate their inputs: skip Flink's deep copies
      }
      String master = a.stream().filter(s -> s.startsWith("--flinkMaster=")).findFirst().orElse("")
          .substring("--flinkMaster=".length());
      if (isRemoteFlinkMaster(master) && a.stream().noneMatch(s -> s.startsWith("--filesToStage="))) {
        String jar = launcherJar();
        if (jar != null) {
          a.add("--filesToStage=" + jar); // the cluster loads the Beam runner and the pipelines from it
        }
      }
    }
    return a.toArray(new String[0]);
  }

  /**
   * Registers FlinkPipelineOptions (so that Flink's flags parse) when the run's runner is Flink and the
   * class is on the classpath. The Flink jar's options registry leaves them out: Beam validates every
   * registered options interface against all the others at start-up, which Flink's would add to every
   * DirectRunner run.
   */
  public static void registerFlinkOptionsFor(String[] args) {
    boolean flink = Arrays.stream(args)
        .anyMatch(s -> s.matches("--runner=(org\\.apache\\.beam\\.runners\\.flink\\.)?(Test)?FlinkRunner"));
    if (flink) {
      try {
        PipelineOptionsFactory.register(Class.forName("org.apache.beam.runners.flink.FlinkPipelineOptions")
            .asSubclass(PipelineOptions.class));
      } catch (ClassNotFoundException e) {
        // not in this jar (the Dataflow one): Beam's runner lookup names the missing runner
      }
    }
  }

  /** True when Flink's CLI ({@code flink run}) loaded this class: its user-code class loader is Flink's. */
  public static boolean insideFlinkCli() {
    ClassLoader cl = RunnerDefaults.class.getClassLoader();
    return cl != null && cl.getClass().getName().startsWith("org.apache.flink.");
  }

  /** HOST:PORT of a running cluster, as opposed to Flink's in-process modes [local], [auto], [collection]. */
  static boolean isRemoteFlinkMaster(String master) {
    String m = master.strip();
    return !m.isEmpty() && !m.startsWith("[");
  }

  /** The (shaded) jar this launcher runs from, or null when it runs from class directories (IDE, tests). */
  static String launcherJar() {
    try {
      java.security.CodeSource src = RunnerDefaults.class.getProtectionDomain().getCodeSource();
      if (src == null) {
        return null;
      }
      Path p = Path.of(src.getLocation().toURI());
      return java.nio.file.Files.isRegularFile(p) && p.toString().endsWith(".jar") ? p.toString() : null;
    } catch (java.net.URISyntaxException | SecurityException | IllegalArgumentException e) {
      return null;
    }
  }
}
