package org.warehouse.pipelines.dedupe;

import java.util.ArrayList;
import java.util.List;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.dedupe.DedupePublish.Outcome;
import org.warehouse.pipelines.dedupe.DedupeVerify.Verified;

/** What a run says per table: the {@code [i/N]} lines, the report's tables and details, the summary block. */
final class DedupeOutput {
  /** One line of the summary block. */
  private record SummaryRow(String table, long rowsBefore, long removed, long rowsAfter, String nullKeyRows,
      String result) {}

  private final Progress progress;
  private final RunReport report;
  private final int total;
  private final List<SummaryRow> rows = new ArrayList<>();
  private int done;

  DedupeOutput(Progress progress, RunReport report, int total) {
    this.progress = progress;
    this.report = report;
    this.total = total;
  }

  /** A table whose constraint exists: nothing to do. */
  void unchanged(DedupeTarget t, long rowCount) {
    progress.step(++done, total, "%s: %s rows / 0 duplicates / %s kept — constraint %s present, unchanged",
        t.table(), Progress.rows(rowCount), Progress.rows(rowCount), t.constraintName());
    report.table(t.table().toString(), rowCount, "unchanged");
    rows.add(new SummaryRow(t.table().toString(), rowCount, 0, rowCount, "-", "unchanged"));
  }

  void published(Verified v, Outcome o, long publishNanos) {
    DedupeTarget t = v.snapshot().table().target();
    String table = t.table().toString();
    long removed = o.removed();
    progress.step(++done, total, "%s: %s rows read / %s duplicates / %s kept; %s inserted during the run "
            + "(%s of them duplicates); constraint %s %s", table, Progress.rows(v.counts().rowsRead()),
        Progress.rows(v.counts().duplicates()), Progress.rows(v.counts().kept()), Progress.rows(o.insertedDuringRun()),
        Progress.rows(o.removedInserted()), t.constraintName(), o.constraintAdded() ? "added" : "present");
    progress.say("      backup copy + checksum %s (alongside the pipeline); final step %s: %s, %s lock held %s ms",
        Progress.seconds(v.backup().nanos()), Progress.seconds(publishNanos), o.replacement() == DedupePublish.Replacement.DELETE
            ? "DELETE (" + o.deleteReason() + ")" : o.replacement().description, o.replacement().lockMode,
        o.lockHeldNanos() / 1_000_000);
    String action = removed == 0 ? "no duplicates; constraint " + (o.constraintAdded() ? "added" : "present")
        : "removed " + removed + " duplicate rows (backup " + t.backupTable() + ")";
    report.table(table, o.rowsAfter(), action);
    report.detail(table + ".removed", removed).detail(table + ".nullKeyRows", o.nullKeyRows())
        .detail(table + ".insertedDuringRun", o.insertedDuringRun())
        .detail(table + ".lockHeldMillis", o.lockHeldNanos() / 1_000_000)
        .detail(table + ".replacedBy", o.replacement().reportName);
    rows.add(new SummaryRow(table, v.backup().rows().rows() + o.insertedDuringRun(), removed, o.rowsAfter(),
        Progress.rows(o.nullKeyRows()), removed == 0 && !o.constraintAdded() ? "unchanged"
            : "backup " + t.backupTable().name()));
  }

  /** A publish failed after {@code published} tables were deduplicated (each completely). */
  void failedAfter(List<String> published) {
    if (!published.isEmpty()) {
      progress.say("dedupe: %s deduplicated before the failure below (each completely; --rollback undoes them); "
          + "the other tables are unchanged", String.join(", ", published));
    }
  }

  void summary() {
    long totalRemoved = 0;
    progress.say("");
    progress.say("dedupe summary");
    progress.say("  %-36s %14s %14s %12s %9s  %s", "table", "rows before", "removed", "rows after", "NULL-key", "result");
    for (SummaryRow r : rows) {
      progress.say("  %-36s %14s %14s %12s %9s  %s", r.table(), Progress.rows(r.rowsBefore()),
          Progress.rows(r.removed()), Progress.rows(r.rowsAfter()), r.nullKeyRows(), r.result());
      totalRemoved += r.removed();
    }
    progress.say("  %s duplicate rows removed; undo with the same selection and --rollback", Progress.rows(totalRemoved));
  }
}
