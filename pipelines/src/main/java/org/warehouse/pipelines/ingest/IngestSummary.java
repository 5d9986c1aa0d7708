package org.warehouse.pipelines.ingest;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.ingest.IngestPlan.Action;
import org.warehouse.pipelines.ingest.IngestPlan.PlannedFile;
import org.warehouse.pipelines.ingest.IngestVerify.FileOutcome;
import org.warehouse.transforms.jdbc.WarehouseException;

/** What a run tells: the plan, one line per file, the totals; the same in the run report (tables, details). */
final class IngestSummary {
  private final Progress progress;
  private final RunReport report;
  private final IngestTables tables;
  private final IngestPlan plan;
  private final long started;

  IngestSummary(Progress progress, RunReport report, IngestTables tables, IngestPlan plan, long started) {
    this.progress = progress;
    this.report = report;
    this.tables = tables;
    this.plan = plan;
    this.started = started;
  }

  void planned(String input) {
    progress.say("ingest: %d file(s) match %s: %d new, %d to replace, %d already loaded (skipped)", plan.files().size(),
        input, plan.count(Action.LOAD), plan.count(Action.REPLACE), plan.count(Action.SKIP));
  }

  /** Every file was already loaded. */
  void nothingToLoad() {
    int i = 0;
    for (PlannedFile f : plan.files()) {
      progress.step(++i, plan.files().size(), "%-28s already loaded %s (same sha256): skipped", f.name(),
          f.previousLoad());
    }
    progress.say("ingest: nothing to load: every file was already loaded; tables unchanged");
    report.detail("filesSkipped", plan.files().size()).detail("filesLoaded", 0);
  }

  /** One line per file (skipped, refused, loaded or replaced), the report's tables and details, the totals. */
  void files(Map<String, FileOutcome> outcomes) {
    int i = 0;
    long read = 0;
    long loaded = 0;
    long rejected = 0;
    int n = plan.files().size();
    for (PlannedFile f : plan.files()) {
      FileOutcome o = outcomes.get(f.name());
      if (f.action() == Action.SKIP) {
        progress.step(++i, n, "%-28s already loaded %s (same sha256): skipped", f.name(), f.previousLoad());
      } else if (o == null) {
        progress.step(++i, n, "%-28s not loaded: the run failed before this file committed", f.name());
      } else if (!o.committed()) {
        progress.step(++i, n, "%-28s %10s lines  REFUSED, nothing loaded: %s", f.name(), Progress.rows(o.lines()),
            o.refusal());
      } else {
        progress.step(++i, n, "%-28s %10s lines  %10s loaded  %8s rejected  %s%s", f.name(), Progress.rows(o.lines()),
            Progress.rows(o.loaded()), Progress.rows(o.rejected()), f.action() == Action.REPLACE
                ? "replaced the rows of its previous version" : "loaded",
            o.deleted() > 0 ? " (" + Progress.rows(o.deleted()) + " deleted records skipped)" : "");
        read += o.lines();
        loaded += o.loaded();
        rejected += o.rejected();
      }
      report.detail("file:" + f.name(), detail(f, o));
    }
    report.table(tables.fact().toString(), loaded, "appended")
        .table(tables.bronze().toString(), loaded + rejected, "appended")
        .table(tables.rejects().toString(), rejected, "appended");
    totals(outcomes, read, loaded, rejected);
  }

  private static Map<String, Object> detail(PlannedFile f, FileOutcome o) {
    Map<String, Object> d = new LinkedHashMap<>();
    boolean refused = o != null && !o.committed();
    d.put("fileId", f.fileId());
    d.put("action", f.action() == Action.SKIP ? "skip" : o == null ? "not loaded" : refused ? "refused" : f.action() == Action.REPLACE ? "replace" : "new");
    d.put("linesRead", o == null ? 0 : o.lines());
    d.put("rowsLoaded", o == null || refused ? 0 : o.loaded());
    d.put("rowsRejected", o == null || refused ? 0 : o.rejected());
    d.put("linesTypable", o == null ? 0 : o.loaded());
    d.put("linesUntypable", o == null ? 0 : o.rejected());
    if (o != null && o.deleted() > 0) {
      d.put("recordsDeleted", o.deleted());
    }
    d.put("sha256", o == null || o.sha256() == null ? f.sha256() : o.sha256());
    if (refused) {
      d.put("refusal", o.refusal());
    }
    return d;
  }

  private void totals(Map<String, FileOutcome> outcomes, long read, long loaded, long rejected) {
    long done = outcomes.values().stream().filter(FileOutcome::committed).count();
    long refused = outcomes.size() - done;
    long replaced = plan.files().stream().filter(f -> f.action() == Action.REPLACE && outcomes.get(f.name()) != null
        && outcomes.get(f.name()).committed()).count();
    long nanos = System.nanoTime() - started;
    report.counter("filesLoaded", done).counter("filesSkipped", plan.count(Action.SKIP)).counter("filesRefused", refused);
    progress.say("ingest: summary");
    progress.say("  files   %d matched: %d loaded (%d replaced), %d skipped (already loaded), %d refused",
        plan.files().size(), done, replaced, plan.count(Action.SKIP), refused);
    progress.say("  lines   %s read, %s loaded into %s, %s rejected into %s", Progress.rows(read), Progress.rows(loaded),
        tables.fact(), Progress.rows(rejected), tables.rejects());
    progress.say("  time    %s (%s lines/s)", Progress.seconds(nanos), Progress.rows((long) (read / (nanos / 1e9))));
  }

  /** Exit 1 naming the refused files and their reasons, when there are any. */
  static void requireNoneRefused(Map<String, FileOutcome> outcomes) {
    List<FileOutcome> refused = outcomes.values().stream().filter(o -> !o.committed())
        .sorted((a, b) -> a.name().compareTo(b.name())).collect(Collectors.toList());
    if (!refused.isEmpty()) {
      throw new WarehouseException(refused.size() + " file(s) refused, none of their rows loaded: "
          + refused.stream().map(o -> o.name() + " (" + o.refusal() + ")").collect(Collectors.joining("; "))
          + "; fix the files (or raise --maxRejectRatio) and re-run");
    }
  }

  /**
   * After a failure: the files that committed before it (they stay loaded), in the output and the
   * report (tables and details, as a successful run lists them); the returned text ends the error line.
   */
  String committedBeforeFailure(List<FileOutcome> committed) {
    if (committed.isEmpty()) {
      progress.say("ingest: no file was committed before the failure; tables unchanged");
      return "no file was committed";
    }
    Map<String, FileOutcome> byName = committed.stream().collect(Collectors.toMap(FileOutcome::name, o -> o));
    progress.say("ingest: %d file(s) committed before the failure stay loaded:", committed.size());
    files(byName);
    return committed.size() + " file(s) committed before the failure stay loaded ("
        + committed.stream().map(FileOutcome::name).sorted().collect(Collectors.joining(", "))
        + "); the next run loads the rest";
  }
}
