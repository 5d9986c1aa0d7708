package org.warehouse.pipelines.common;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;

/**
 * The driver's SQL worker pool: a fixed set of daemon threads, each with its own lazily opened
 * connection kept for the whole run (no connection set-up per query). Time spent per phase name is
 * summed into {@link Phases} when one is given.
 */
public final class SqlWorkers implements AutoCloseable {
  /** One piece of SQL work, run on a worker's connection. */
  @FunctionalInterface
  public interface SqlTask<T> {
    T run(Connection c) throws Exception;
  }

  /** Opens a worker's connection (a database other than PostgreSQL brings its own). */
  @FunctionalInterface
  public interface Connector {
    Connection connect(String appName) throws SQLException;
  }

  private final Connector config;
  private final String appName;
  private final ExecutorService pool;
  private final Phases phases;
  private final List<Connection> opened = Collections.synchronizedList(new ArrayList<>());
  private final ThreadLocal<Connection> connection = new ThreadLocal<>();

  public SqlWorkers(JdbcConfig config, String appName, int threads) {
    this(config, appName, threads, null);
  }

  public SqlWorkers(JdbcConfig config, String appName, int threads, Phases phases) {
    this(config::connect, appName, threads, phases);
  }

  public SqlWorkers(Connector config, String appName, int threads, Phases phases) {
    this.config = config;
    this.appName = appName;
    this.phases = phases;
    AtomicInteger k = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, appName + "-" + k.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  public <T> CompletableFuture<T> submit(String phase, SqlTask<T> task) {
    return CompletableFuture.supplyAsync(() -> {
      long t0 = System.nanoTime();
      try {
        Connection c = connection.get();
        if (c == null) {
          c = config.connect(appName);
          opened.add(c);
          connection.set(c);
        }
        return task.run(c);
      } catch (Exception e) {
        throw new CompletionException(e);
      } finally {
        if (phases != null) {
          phases.busy(phase, System.nanoTime() - t0);
        }
      }
    }, pool);
  }

  /** The value of a future; its failure rethrown as the original exception. */
  public static <T> T join(CompletableFuture<T> f) throws Exception {
    try {
      return f.join();
    } catch (CompletionException e) {
      Throwable cause = e.getCause();
      while (cause instanceof CompletionException && cause.getCause() != null) {
        cause = cause.getCause();
      }
      if (cause instanceof Exception) {
        throw (Exception) cause;
      }
      if (cause instanceof Error) {
        throw (Error) cause;
      }
      throw e;
    }
  }

  @Override
  public void close() {
    pool.shutdownNow();
    synchronized (opened) {
      for (Connection c : opened) {
        Db.closeQuietly(c);
      }
    }
  }
}
