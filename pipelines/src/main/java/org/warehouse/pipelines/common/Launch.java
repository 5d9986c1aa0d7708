package org.warehouse.pipelines.common;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.warehouse.transforms.jdbc.ConnectionLoss;
import org.warehouse.transforms.jdbc.JdbcUrls;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * One run of one command: runs it, turns its outcome into an exit code and a one-line cause, and
 * writes the report exactly once — also when the run is cancelled by a signal ({@link #cancel}),
 * in which case the report says CANCELLED and the exit code is 143.
 */
public final class Launch {
  public static final int OK = 0;
  public static final int FAILED = 1;
  public static final int USAGE = 2;
  public static final int LOCKED = 3;
  public static final int CANCELLED = 143;

  private final Command<?> command;
  private final RunReport report;
  private final Path reportFile;
  private final PrintStream err;
  private boolean finished;

  public Launch(Command<?> command, RunReport report, String reportFile, PrintStream err) {
    this.command = command;
    this.report = report;
    this.reportFile = reportFile == null ? null : Path.of(reportFile);
    this.err = err;
  }

  /** Runs the command; returns the exit code. A report left by an earlier run is removed first. */
  public int run(PipelineOptions options) {
    if (reportFile != null) {
      try {
        Files.deleteIfExists(reportFile); // never leave an earlier run's SUCCEEDED behind this one
      } catch (IOException e) {
        err.println("warning: could not remove the earlier --reportFile " + reportFile + ": " + e.getMessage());
      }
    }
    int code;
    String error = null;
    try {
      command.run(options, report);
      code = OK;
    } catch (UsageException | IllegalArgumentException e) {
      error = CommandLineErrors.missingRequired(CommandLineErrors.oneLine(JdbcUrls.redact(e.getMessage())));
      err.println("error: " + error + " (see: scripts/run " + command.name() + " --help)");
      code = USAGE;
    } catch (LockHeldException e) {
      error = CommandLineErrors.oneLine(e.getMessage());
      err.println("error: " + error);
      code = LOCKED;
    } catch (Throwable e) {
      error = cause(e);
      if (!isFinished()) {
        err.println(command.name() + " failed: " + error);
        if (System.getenv("WH_DEBUG") != null) {
          e.printStackTrace(err);
        } else {
          err.println("(set WH_DEBUG=1 for the stack trace)");
        }
      }
      code = FAILED;
    }
    return finish(code == OK ? "SUCCEEDED" : "FAILED", code, error);
  }

  /**
   * A signal's way out (the launcher's shutdown hook): cancels the Beam pipelines the run started, runs
   * its registered clean-ups (newest first), and writes the CANCELLED report. Does nothing once the run
   * has finished on its own.
   */
  public void cancel() {
    synchronized (this) {
      if (finished) {
        return;
      }
    }
    err.println(command.name() + " cancelled (SIGTERM or SIGINT): stopping its pipeline and dropping its staging");
    for (PipelineResult r : report.startedPipelines()) {
      try {
        r.cancel();
      } catch (IOException | RuntimeException e) {
        err.println(command.name() + ": could not cancel its Beam pipeline: " + CommandLineErrors.oneLine(e.getMessage()));
      }
    }
    for (RunReport.Cleanup c : report.cleanups()) {
      try {
        c.action().run();
      } catch (RuntimeException e) {
        err.println(command.name() + ": " + c.what() + " failed: " + CommandLineErrors.oneLine(e.getMessage()));
      }
    }
    finish("CANCELLED", CANCELLED, "cancelled by a signal (SIGTERM or SIGINT); production unchanged unless a "
        + "publish had already committed");
  }

  private synchronized boolean isFinished() {
    return finished;
  }

  private synchronized int finish(String status, int code, String error) {
    if (finished) {
      return code;
    }
    finished = true;
    if (reportFile == null) {
      return code;
    }
    try {
      report.write(reportFile, status, code, error);
      return code;
    } catch (IOException | RuntimeException e) {
      err.println("warning: could not write --reportFile " + reportFile + ": " + e.getMessage());
      return code == OK ? FAILED : code;
    }
  }

  /** The most useful one-line cause in a (possibly runner-wrapped) exception chain, without secrets. */
  public static String cause(Throwable e) {
    return JdbcUrls.redact(rawCause(e));
  }

  private static String rawCause(Throwable e) {
    Throwable sql = null;
    for (Throwable t = e; t != null && t.getCause() != t; t = t.getCause()) {
      if (t instanceof WarehouseException) {
        return CommandLineErrors.oneLine(t.getMessage());
      }
      if (sql == null && t instanceof SQLException) {
        sql = t;
      }
    }
    if (ConnectionLoss.isConnectionLoss(e)) {
      return ConnectionLoss.explain(e, "the run was using it; nothing published").getMessage()
          + (sql == null ? "" : " (" + CommandLineErrors.oneLine(sql.getMessage()) + ")");
    }
    if (sql != null) {
      return "database error: " + CommandLineErrors.oneLine(sql.getMessage());
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String msg = root.getMessage();
    return root.getClass().getSimpleName() + (msg == null ? "" : ": " + CommandLineErrors.oneLine(msg));
  }
}
