package org.warehouse.pipelines;

import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.warehouse.pipelines.aggregate.AggregatePipeline;
import org.warehouse.pipelines.common.BeamStdoutFilter;
import org.warehouse.pipelines.common.Command;
import org.warehouse.pipelines.common.FlinkShutdownNoise;
import org.warehouse.pipelines.common.LockHeldException;
import org.warehouse.pipelines.common.OptionsHelp;
import org.warehouse.pipelines.common.ReportOptions;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * {@code scripts/run PIPELINE [--option=value ...]}: the one launcher for people and schedulers.
 *
 * <p>Exit codes: 0 success; 1 the run failed (one-line cause on stderr); 2 bad usage; 3 another run
 * of the same pipeline holds the lock on the same target. Default runner: Flink's embedded
 * mini-cluster with parallelism = cores (promote, ingest, dedupe and repartition: the DirectRunner, see {@link #DIRECT_BY_DEFAULT});
 * {@code --runner=DirectRunner} and {@code
 * --flinkMaster=HOST:PORT} also work.
 */
public final class Main {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int LOCKED = 3;

  private Main() {}

  /** Every pipeline the launcher knows, in the order `--help` lists them. */
  static Map<String, Command<?>> commands() {
    Map<String, Command<?>> m = new LinkedHashMap<>();
    for (Command<?> c : List.<Command<?>>of(
        Command.of("load-reference", "load the IBGE region/state/municipality dimensions (idempotent)",
            LoadReferencePipeline.LoadReferenceOptions.class, LoadReferencePipeline::run),
        Command.of("generate", "write a deterministic SINASC-like fact_births (same seed, same rows)",
            GeneratePipeline.GenerateOptions.class, GeneratePipeline::run),
        Command.of("aggregate", "fact_births -> every agg_* table in one parallel pass, swapped in atomically",
            AggregatePipeline.AggregateOptions.class, AggregatePipeline::run),
        Command.of("promote", "copy dim_*/agg_* tables to another database, verified, published all-or-nothing",
            PromotePipeline.PromoteOptions.class, PromotePipeline::run),
        Command.of("generate-csv", "write SINASC-style CSV exports (some lines damaged on purpose); no database",
            GenerateCsvPipeline.GenerateCsvOptions.class, GenerateCsvPipeline::run),
        Command.of("ingest", "SINASC CSV files -> bronze_sinasc_raw, fact_births, ingest_rejects; each file once",
            IngestPipeline.IngestOptions.class, IngestPipeline::run),
        Command.of("dedupe", "remove duplicate rows on natural keys while the ETL writes; backup, rollback, constraint",
            DedupePipeline.DedupeOptions.class, DedupePipeline::run),
        Command.of("repartition", "move a table into monthly range partitions, verified per month; backup, rollback",
            RepartitionPipeline.RepartitionOptions.class, RepartitionPipeline::run))) {
      m.put(c.name(), c);
    }
    return m;
  }

  public static void main(String[] args) {
    System.setOut(BeamStdoutFilter.wrap(System.out)); // Beam's JdbcIO prints debug lines there
    FlinkShutdownNoise.install(); // a known Flink exit-time stack trace after finished runs
    System.exit(run(args, System.out, System.err));
  }

  /** Runs one command; returns the exit code (never calls System.exit: tests call this). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    Map<String, Command<?>> commands = commands();
    if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
      printUsage(commands, args.length == 0 ? err : out);
      return args.length == 0 ? USAGE : OK;
    }
    Command<?> command = commands.get(args[0]);
    if (command == null) {
      err.println("error: unknown pipeline '" + args[0] + "'");
      printUsage(commands, err);
      return USAGE;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    PipelineOptionsFactory.register(command.optionsClass());
    if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
      out.println("usage: scripts/run " + command.name() + " [--option=value ...]");
      out.println("  " + command.summary());
      out.println();
      OptionsHelp.print(out, command.optionsClass(), defaultRunner(command.name()));
      return OK;
    }
    RunReport report = new RunReport(command.name());
    PipelineOptions options;
    try {
      String[] effective = withRunnerDefaults(command.name(), rest);
      registerFlinkOptionsFor(effective);
      options = PipelineOptionsFactory.fromArgs(effective).withValidation().as(command.optionsClass());
    } catch (IllegalArgumentException | UsageException e) {
      err.println("error: " + optionsError(e.getMessage(), command, rest) + " (see: scripts/run " + command.name()
          + " --help)");
      return USAGE;
    }
    String reportFile = null;
    if (options instanceof ReportOptions) {
      reportFile = ((ReportOptions) options).getReportFile();
    }
    if (options instanceof WarehouseOptions) {
      report.target(((WarehouseOptions) options).getJdbcUrl());
    }
    report.runner(options.getRunner().getSimpleName());
    int code;
    String error = null;
    try {
      command.run(options, report);
      code = OK;
    } catch (UsageException | IllegalArgumentException e) {
      error = missingRequired(oneLine(e.getMessage()));
      err.println("error: " + error + " (see: scripts/run " + command.name() + " --help)");
      code = USAGE;
    } catch (LockHeldException e) {
      error = oneLine(e.getMessage());
      err.println("error: " + error);
      code = LOCKED;
    } catch (Throwable e) {
      error = cause(e);
      err.println(command.name() + " failed: " + error);
      if (System.getenv("WH_DEBUG") != null) {
        e.printStackTrace(err);
      } else {
        err.println("(set WH_DEBUG=1 for the stack trace)");
      }
      code = FAILED;
    }
    if (reportFile != null) {
      try {
        report.write(Path.of(reportFile), code == OK ? "SUCCEEDED" : "FAILED", code, error);
      } catch (Exception e) {
        err.println("warning: could not write --reportFile " + reportFile + ": " + e.getMessage());
        code = code == OK ? FAILED : code;
      }
    }
    return code;
  }

  /**
   * Pipelines whose default runner is the DirectRunner without its immutability/encodability checks
   * instead of Flink's mini-cluster: promote moves a few dozen ~1 MB chunks, so Flink's fixed cost per
   * job (mini-cluster start, job graph) outweighs its throughput (figures in docs/promote.md). Any
   * --runner or --flinkMaster given, or a run under Flink's CLI, keeps the usual rules.
   */
  static final List<String> DIRECT_BY_DEFAULT = List.of("promote", "ingest", "dedupe", "repartition");
  // ingest: each file is one long DoFn call writing by COPY; Flink's fixed start (~15 CPU-seconds, ~8 s)
  // outweighs everything it offers here (measured in docs/ingest.md).
  // dedupe: PostgreSQL reduces each id range to one row per key; the pipeline combines ~50K rows into a
  // few (table, shard) keys, so Flink's fixed start is most of its cost (0.89 vs 0.98 of the SQL way in
  // back-to-back bench runs, docs/dedupe.md).
  // repartition: its elements are a few dozen page ranges, each one INSERT … SELECT run by the server.

  static String[] withRunnerDefaults(String command, String[] args) {
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
  static String defaultRunner(String command) {
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
   * registered options interface against all the others at start-up, which cost every DirectRunner run
   * ~0.3 s for Flink's (README, Stack).
   */
  static void registerFlinkOptionsFor(String[] args) {
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

  private static final Pattern MISSING_PROPERTY = Pattern.compile("missing a property named '([^']+)'");
  private static final Pattern BEAM_SUGGESTION = Pattern.compile("Did you mean '([^']+)'\\?");

  /** The property of Beam's "missing a property named 'X'" when X is one of FlinkPipelineOptions', else null. */
  static String flinkOnlyFlag(String message) {
    Matcher m = MISSING_PROPERTY.matcher(String.valueOf(message));
    if (!m.find()) {
      return null;
    }
    String getter = "get" + Character.toUpperCase(m.group(1).charAt(0)) + m.group(1).substring(1);
    try {
      Class<?> flink = Class.forName("org.apache.beam.runners.flink.FlinkPipelineOptions");
      for (Method g : flink.getMethods()) {
        if (g.getName().equals(getter) || g.getName().equals("is" + getter.substring(3))) {
          return m.group(1);
        }
      }
    } catch (ClassNotFoundException e) {
      // no Flink runner in this jar
    }
    return null;
  }

  /** Beam's complaint about the command line, said in the launcher's words where we know better. */
  static String optionsError(String message, Command<?> command, String[] args) {
    String flinkFlag = flinkOnlyFlag(message);
    if (flinkFlag != null) {
      return "--" + flinkFlag + " is a Flink runner option, and this run uses the DirectRunner (add --runner=FlinkRunner)";
    }
    String unknown = unknownOption(message, command);
    if (unknown != null) {
      return unknown;
    }
    if (String.valueOf(message).contains("Unknown 'runner' specified 'FlinkRunner'")
        && Arrays.stream(args).noneMatch(s -> s.startsWith("--runner="))) {
      return "this jar has no Flink runner, the default for " + command.name() + ": add --runner=DataflowRunner "
          + "(with --project, --region, …) or --runner=DirectRunner";
    }
    return missingRequired(oneLine(message));
  }

  /**
   * "unknown option --X for PIPELINE", with the pipeline's own options that X is close to (one contains
   * the other, or at most 2 edits apart), for Beam's "Class interface …Options missing a property named
   * 'X'"; null for any other message.
   */
  static String unknownOption(String message, Command<?> command) {
    Matcher m = MISSING_PROPERTY.matcher(String.valueOf(message));
    if (!m.find()) {
      return null;
    }
    String given = m.group(1);
    String g = given.toLowerCase(Locale.ROOT);
    List<String> close = new ArrayList<>();
    for (String o : OptionsHelp.ownOptions(command.optionsClass()).keySet()) {
      String l = o.toLowerCase(Locale.ROOT);
      if (l.contains(g) || g.contains(l) || editDistance(l, g) <= 2) {
        close.add("--" + o);
      }
    }
    String text = "unknown option --" + given + " for " + command.name();
    if (close.isEmpty()) {
      Matcher beams = BEAM_SUGGESTION.matcher(message); // Beam's guess among runner options (--runnner → --runner)
      return beams.find() ? text + " (did you mean --" + beams.group(1) + "?)" : text;
    }
    return text + " (did you mean " + (close.size() == 1 ? close.get(0)
        : String.join(", ", close.subList(0, close.size() - 1)) + " or " + close.get(close.size() - 1)) + "?)";
  }

  private static final Pattern MISSING_REQUIRED = Pattern.compile(
      "Missing required value for \\[(?:(--\\w+)|[^\\]\"]*\\.(?:get|is)(\\w+)\\(\\)), \"([^\"]*)\"\\]\\.?");

  /**
   * Beam's "Missing required value for [--out, "Directory …"]." (or, when a runner checks its options,
   * "[public abstract … DataflowPipelineOptions.getProject(), "Project id. …"]") as "missing required
   * option --out (Directory …)"; any other message unchanged.
   */
  static String missingRequired(String message) {
    Matcher m = MISSING_REQUIRED.matcher(message);
    if (!m.find()) {
      return message;
    }
    String option = m.group(1) != null ? m.group(1) : "--" + java.beans.Introspector.decapitalize(m.group(2));
    return "missing required option " + option + " (" + m.group(3) + ")";
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /** True when Flink's CLI ({@code flink run}) loaded this class: its user-code class loader is Flink's. */
  static boolean insideFlinkCli() {
    ClassLoader cl = Main.class.getClassLoader();
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
      java.security.CodeSource src = Main.class.getProtectionDomain().getCodeSource();
      if (src == null) {
        return null;
      }
      Path p = Path.of(src.getLocation().toURI());
      return java.nio.file.Files.isRegularFile(p) && p.toString().endsWith(".jar") ? p.toString() : null;
    } catch (java.net.URISyntaxException | SecurityException | IllegalArgumentException e) {
      return null;
    }
  }

  private static void printUsage(Map<String, Command<?>> commands, PrintStream s) {
    s.println("usage: scripts/run PIPELINE [--option=value ...]   (scripts/run PIPELINE --help for its options)");
    s.println();
    s.println("pipelines:");
    for (Command<?> c : commands.values()) {
      s.printf("  %-16s %s%n", c.name(), c.summary());
    }
    s.println();
    s.println("runner: Flink embedded mini-cluster by default (" + String.join(", ", DIRECT_BY_DEFAULT)
        + ": the DirectRunner); --runner=DirectRunner, --runner=FlinkRunner, or --flinkMaster=HOST:PORT");
    s.println("exit codes: 0 ok, 1 run failed, 2 usage, 3 another run holds the lock");
  }

  /** The most useful one-line cause in a (possibly runner-wrapped) exception chain. */
  static String cause(Throwable e) {
    Throwable best = null;
    for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
      if (t instanceof WarehouseException) {
        return oneLine(t.getMessage());
      }
      if (best == null && t instanceof SQLException) {
        best = t;
      }
    }
    if (best != null) {
      return "database error: " + oneLine(best.getMessage());
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root.getMessage();
    return root.getClass().getSimpleName() + (msg == null ? "" : ": " + oneLine(msg));
  }

  static String oneLine(String s) {
    if (s == null) {
      return "(no message)";
    }
    String line = s.strip();
    int nl = line.indexOf('\n');
    return nl < 0 ? line : line.substring(0, nl);
  }
}
