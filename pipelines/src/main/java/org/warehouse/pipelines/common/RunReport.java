package org.warehouse.pipelines.common;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.warehouse.transforms.jdbc.JdbcUrls;

/**
 * The JSON run report every pipeline writes with {@code --reportFile}: one shape for all of them.
 * It never holds a password: only the JDBC URL (which may not contain one) and figures.
 */
public final class RunReport {
  private final String pipeline;
  private final Instant startedAt = Instant.now();
  private final List<Map<String, Object>> tables = new ArrayList<>();
  private final Map<String, Long> counters = new LinkedHashMap<>();
  private final Map<String, Object> details = new LinkedHashMap<>();
  private final List<Cleanup> onCancel = new ArrayList<>();
  private final List<PipelineResult> started = new ArrayList<>();
  private String target;
  private String runner;

  /** A clean-up the launcher runs when the run is cancelled (SIGTERM, SIGINT). */
  public record Cleanup(String what, Runnable action) {}

  public RunReport(String pipeline) {
    this.pipeline = pipeline;
  }

  public String pipeline() {
    return pipeline;
  }

  /** The run's target, with any password in it redacted. */
  public RunReport target(String jdbcUrl) {
    this.target = JdbcUrls.redact(jdbcUrl);
    return this;
  }

  /**
   * Registers a clean-up for a cancelled run (e.g. dropping this run's staging tables); the launcher's
   * signal handler runs them, newest first, after cancelling the Beam pipelines started by the run.
   */
  public synchronized RunReport onCancel(String what, Runnable cleanup) {
    onCancel.add(new Cleanup(what, cleanup));
    return this;
  }

  /** A Beam run started by this run: cancelled if the run is (see {@link BeamRun#run}). */
  public synchronized RunReport pipelineStarted(PipelineResult result) {
    started.add(result);
    return this;
  }

  /** What a cancellation must undo: the running pipelines, then the clean-ups (newest first). */
  public synchronized List<PipelineResult> startedPipelines() {
    return List.copyOf(started);
  }

  public synchronized List<Cleanup> cleanups() {
    List<Cleanup> l = new ArrayList<>(onCancel);
    java.util.Collections.reverse(l);
    return l;
  }

  public RunReport runner(String runnerName) {
    this.runner = runnerName;
    return this;
  }

  public RunReport table(String name, long rows, String action) {
    Map<String, Object> t = new LinkedHashMap<>();
    t.put("name", name);
    t.put("rows", rows);
    t.put("action", action);
    tables.add(t);
    return this;
  }

  public RunReport counter(String name, long value) {
    counters.put(name, value);
    return this;
  }

  public RunReport detail(String name, Object value) {
    details.put(name, value);
    return this;
  }

  public List<Map<String, Object>> tables() {
    return tables;
  }

  public Map<String, Long> counters() {
    return counters;
  }

  /** Copies every committed counter of a finished Beam run into the report. */
  public RunReport countersFrom(PipelineResult result) {
    try {
      MetricQueryResults m = result.metrics().queryMetrics(MetricsFilter.builder().build());
      for (MetricResult<Long> c : m.getCounters()) {
        Long v;
        try {
          v = c.getCommitted();
        } catch (UnsupportedOperationException e) {
          v = c.getAttempted();
        }
        counters.merge(c.getName().getName(), v == null ? 0L : v, Long::sum);
      }
    } catch (UnsupportedOperationException e) {
      // a runner without metrics support: the report simply has no counters
    }
    return this;
  }

  public Map<String, Object> toMap(String status, int exitCode, String error) {
    Instant end = Instant.now();
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("pipeline", pipeline);
    m.put("status", status);
    m.put("exitCode", exitCode);
    m.put("startedAt", startedAt.toString());
    m.put("finishedAt", end.toString());
    m.put("durationSeconds", Duration.between(startedAt, end).toMillis() / 1000.0);
    m.put("runner", runner);
    m.put("target", target);
    m.put("tables", tables);
    m.put("counters", counters);
    m.put("details", details);
    m.put("error", JdbcUrls.redact(error));
    return m;
  }

  public void write(Path path, String status, int exitCode, String error) throws IOException {
    ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Path tmp = path.resolveSibling(path.getFileName() + ".tmp");
    om.writeValue(tmp.toFile(), toMap(status, exitCode, error));
    Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
