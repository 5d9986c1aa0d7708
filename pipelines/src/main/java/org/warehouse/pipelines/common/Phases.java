package org.warehouse.pipelines.common;

import java.lang.management.ManagementFactory;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Phase timings of one run: the wall time of each sequential step of the driver ({@link #lap}), and
 * the busy time summed over worker connections per kind of background work ({@link #busy}; they
 * overlap the steps).
 */
public final class Phases {
  private final String pipeline;
  private final Map<String, Long> wall = Collections.synchronizedMap(new LinkedHashMap<>());
  private final Map<String, AtomicLong> busy = new ConcurrentHashMap<>();
  private final Map<String, AtomicInteger> tasks = new ConcurrentHashMap<>();
  private long mark = System.nanoTime();

  public Phases(String pipeline) {
    this.pipeline = pipeline;
  }

  public void lap(String name) {
    long now = System.nanoTime();
    wall.merge(name, now - mark, Long::sum);
    mark = now;
  }

  public void busy(String name, long nanos) {
    busy.computeIfAbsent(name, x -> new AtomicLong()).addAndGet(nanos);
    tasks.computeIfAbsent(name, x -> new AtomicInteger()).incrementAndGet();
  }

  /** Prints the wall times in order, then the background busy times of {@code backgroundOrder}. */
  public void print(Progress progress, long started, List<String> backgroundOrder) {
    progress.say("Phase timings (wall, in order):");
    long jvm = System.currentTimeMillis() - ManagementFactory.getRuntimeMXBean().getStartTime();
    long sinceRun = (System.nanoTime() - started) / 1_000_000;
    progress.say("  %-58s %s", "JVM start + launcher, before " + pipeline + " began", Progress.seconds(
        Math.max(0, jvm - sinceRun) * 1_000_000L));
    synchronized (wall) {
      for (Map.Entry<String, Long> e : wall.entrySet()) {
        progress.say("  %-58s %s", e.getKey(), Progress.seconds(e.getValue()));
      }
    }
    progress.say("Background work (busy time summed over the worker connections; overlaps the above):");
    for (String name : backgroundOrder) {
      if (busy.containsKey(name)) {
        progress.say("  %-58s %s", name + " (" + tasks.get(name) + " queries)", Progress.seconds(busy.get(name).get()));
      }
    }
  }

  public void report(RunReport report) {
    synchronized (wall) {
      for (Map.Entry<String, Long> e : wall.entrySet()) {
        report.detail("phaseSeconds " + e.getKey(), e.getValue() / 1e9);
      }
    }
    for (Map.Entry<String, AtomicLong> e : busy.entrySet()) {
      report.detail("busySeconds " + e.getKey(), e.getValue().get() / 1e9);
    }
  }
}
