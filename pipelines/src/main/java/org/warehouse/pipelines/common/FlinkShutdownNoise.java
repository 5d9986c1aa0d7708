package org.warehouse.pipelines.common;

import java.io.PrintStream;

/**
 * Keeps one known Flink 1.19 exit-time stack trace out of a successful run's output. When a run on
 * Flink's embedded mini-cluster ends, the JVM's shutdown hooks include Pekko's coordinated shutdown
 * (Flink's RPC system); now and then it loads a Scala class after Flink has already closed the class
 * loader of its RPC component, and the hook thread dies with {@code Exception in thread
 * "flink-shutdown-hook-1" java.lang.NoClassDefFoundError: scala/collection/mutable/Set$} (FLINK-32314;
 * seen here once after a successful 5M-row {@code generate}). The job has finished by then, so this
 * handler drops exactly that: a class-loading error in a thread named {@code flink-shutdown-hook-*}.
 * Every other uncaught exception is printed as the JVM prints it.
 */
public final class FlinkShutdownNoise implements Thread.UncaughtExceptionHandler {
  private final PrintStream err;

  FlinkShutdownNoise(PrintStream err) {
    this.err = err;
  }

  /** Installs the handler for every thread that has none of its own. */
  public static void install() {
    Thread.setDefaultUncaughtExceptionHandler(new FlinkShutdownNoise(System.err));
  }

  static boolean isFlinkShutdownClassLoading(Thread t, Throwable e) {
    return t.getName().startsWith("flink-shutdown-hook")
        && (e instanceof NoClassDefFoundError || e instanceof ClassNotFoundException);
  }

  @Override
  public void uncaughtException(Thread t, Throwable e) {
    if (isFlinkShutdownClassLoading(t, e)) {
      return;
    }
    err.print("Exception in thread \"" + t.getName() + "\" ");
    e.printStackTrace(err);
  }
}
