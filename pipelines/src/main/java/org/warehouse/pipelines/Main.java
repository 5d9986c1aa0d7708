package org.warehouse.pipelines;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.warehouse.pipelines.aggregate.AggregatePipeline;
import org.warehouse.pipelines.common.BeamStdoutFilter;
import org.warehouse.pipelines.common.Command;
import org.warehouse.pipelines.common.FlinkShutdownNoise;
import org.warehouse.pipelines.common.CommandLineErrors;
import org.warehouse.pipelines.common.Launch;
import org.warehouse.pipelines.common.OptionsHelp;
import org.warehouse.pipelines.common.ReportOptions;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.RunnerDefaults;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.common.WarehouseOptions;
import org.warehouse.pipelines.dedupe.DedupePipeline;
import org.warehouse.pipelines.ingest.IngestPipeline;
import org.warehouse.pipelines.promote.PromotePipeline;
import org.warehouse.pipelines.repartition.RepartitionPipeline;
import org.warehouse.transforms.jdbc.JdbcUrls;

/**
 * {@code scripts/run PIPELINE [--option=value ...]}: the one launcher for people and schedulers.
 *
 * <p>Exit codes: 0 success; 1 the run failed (one-line cause on stderr); 2 bad usage; 3 another run
 * of the same pipeline holds the lock on the same target; 143 cancelled by SIGTERM/SIGINT (report
 * CANCELLED). Default runner: {@link RunnerDefaults}.
 */
public final class Main {
  public static final int OK = Launch.OK;
  public static final int FAILED = Launch.FAILED;
  public static final int USAGE = Launch.USAGE;
  public static final int LOCKED = Launch.LOCKED;
  public static final int CANCELLED = Launch.CANCELLED;

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
    if (System.getenv("WH_DEBUG") != null) { // Flink's task failure logs, off by default (simplelogger.properties)
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.flink", "error");
      System.setProperty("org.slf4j.simpleLogger.log.org.apache.beam.runners.flink.FlinkRunner", "error");
    }
    System.setOut(BeamStdoutFilter.wrap(System.out)); // Beam's JdbcIO prints debug lines there
    FlinkShutdownNoise.install(); // a known Flink exit-time stack trace after finished runs
    System.exit(run(args, System.out, System.err, launch ->
        Runtime.getRuntime().addShutdownHook(new Thread(launch::cancel, "warehouse-cancel"))));
  }

  /** Runs one command; returns the exit code (never calls System.exit: tests call this). */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    return run(args, out, err, launch -> { });
  }

  /** As {@link #run(String[], PrintStream, PrintStream)}; {@code started} sees the launch before it runs. */
  static int run(String[] args, PrintStream out, PrintStream err, Consumer<Launch> started) {
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
    PipelineOptions options;
    try {
      refuseSecrets(rest);
      String[] effective = withRunnerDefaults(command.name(), rest);
      RunnerDefaults.registerFlinkOptionsFor(effective);
      options = PipelineOptionsFactory.fromArgs(effective).withValidation().as(command.optionsClass());
    } catch (IllegalArgumentException | UsageException e) {
      err.println("error: " + JdbcUrls.redact(CommandLineErrors.optionsError(e.getMessage(), command, rest))
          + " (see: scripts/run " + command.name() + " --help)");
      return USAGE;
    }
    RunReport report = new RunReport(command.name());
    if (options instanceof WarehouseOptions) {
      report.target(((WarehouseOptions) options).getJdbcUrl());
    }
    report.runner(options.getRunner().getSimpleName());
    String reportFile = options instanceof ReportOptions ? ((ReportOptions) options).getReportFile() : null;
    Launch launch = new Launch(command, report, reportFile, err);
    started.accept(launch);
    return launch.run(options);
  }

  /** A URL option carrying a password is refused before anything else, and the password is not echoed. */
  private static void refuseSecrets(String[] args) {
    for (String a : args) {
      int eq = a.indexOf('=');
      String secret = eq < 0 ? null : JdbcUrls.secretIn(a.substring(eq + 1));
      if (a.startsWith("--") && secret != null) {
        throw new UsageException(a.substring(0, eq) + " must not contain a password (it has " + secret
            + "): put it in PGPASSWORD or a file named by the pipeline's password-file option");
      }
    }
  }

  static String[] withRunnerDefaults(String command, String[] args) {
    return RunnerDefaults.withRunnerDefaults(command, args);
  }

  /** The runner a run of {@code command} without --runner or --flinkMaster gets (what its help says). */
  static String defaultRunner(String command) {
    return RunnerDefaults.defaultRunner(command);
  }

  static String missingRequired(String message) {
    return CommandLineErrors.missingRequired(message);
  }

  private static void printUsage(Map<String, Command<?>> commands, PrintStream s) {
    s.println("usage: scripts/run PIPELINE [--option=value ...]   (scripts/run PIPELINE --help for its options)");
    s.println();
    s.println("pipelines:");
    for (Command<?> c : commands.values()) {
      s.printf("  %-16s %s%n", c.name(), c.summary());
    }
    s.println();
    s.println("runner: Flink embedded mini-cluster by default (" + String.join(", ", RunnerDefaults.DIRECT_BY_DEFAULT)
        + ": the DirectRunner); --runner=DirectRunner, --runner=FlinkRunner, or --flinkMaster=HOST:PORT");
    s.println("exit codes: 0 ok, 1 run failed, 2 usage, 3 another run holds the lock, 143 cancelled (SIGTERM/SIGINT)");
  }

  /** The most useful one-line cause in a (possibly runner-wrapped) exception chain. */
  static String cause(Throwable e) {
    return Launch.cause(e);
  }
}
