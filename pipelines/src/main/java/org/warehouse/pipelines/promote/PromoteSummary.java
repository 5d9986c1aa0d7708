package org.warehouse.pipelines.promote;

import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.common.Phases;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.transforms.jdbc.TableRef;

/** What a run prints and reports: the plan of a dry run, or each table's outcome and the summary. */
public final class PromoteSummary {
  /** Background work in the order the phase timings list it. */
  static final List<String> BACKGROUND = List.of("source catalog", "source checksum", "target checksum",
      "index build", "analyze");

  /** Tables and unchanged tables of one category. */
  private record Count(int tables, int unchanged) {
    Count plus(boolean isUnchanged) {
      return new Count(tables + 1, unchanged + (isUnchanged ? 1 : 0));
    }
  }

  private PromoteSummary() {}

  /** Per table: source rows and what a run would do, with the DDL of the tables it would copy. */
  public static void printPlan(List<TargetCheck.Decided> decided, TargetDatabase target, String runId,
      Progress progress) throws Exception {
    progress.say("");
    progress.say("Plan:");
    int i = 0;
    for (TargetCheck.Decided d : decided) {
      long rows = SqlWorkers.join(d.source().checksum()).rows();
      String action = d.action() == Action.BLOCKED ? "BLOCKED: " + d.blockedReason() : d.action().dryRunText();
      progress.step(++i, decided.size(), "%s: %s rows on the source; %s", d.table().target(), Progress.rows(rows),
          action);
      if (d.action().copies()) {
        TableRef staging = target.stagingName(d.table().target(), runId);
        for (String ddl : target.createTableSql(d.definition(), staging)) {
          progress.say("    %s;", ddl.replace("\n", "\n    "));
        }
        for (String ddl : target.keysAndIndexesSql(d.definition(), staging)) {
          progress.say("    %s;", ddl);
        }
      }
    }
  }

  /**
   * One line per table ({@code how}: how each copied table was published, in order), the summary,
   * the phase timings; the same in the report.
   */
  public static void print(List<TargetCheck.Decided> decided, List<String> how, Phases phases, long started,
      Progress progress, RunReport report) throws Exception {
    Map<Category, Count> counts = new EnumMap<>(Category.class);
    long total = 0;
    int i = 0;
    int k = 0;
    for (TargetCheck.Decided d : decided) {
      long rows = SqlWorkers.join(d.source().checksum()).rows();
      total += rows;
      boolean unchanged = d.action() == Action.UNCHANGED;
      counts.merge(d.table().category(), new Count(1, unchanged ? 1 : 0), (a, b) -> a.plus(unchanged));
      String action = unchanged ? "unchanged, skipped" : how.get(k++);
      if (unchanged) {
        progress.step(++i, decided.size(), "Promoting table: %s… %s rows, unchanged (skipped) ✓", d.table().target(),
            Progress.rows(rows));
      } else {
        progress.step(++i, decided.size(), "Promoting table: %s… %s rows ✓ (%s)", d.table().target(),
            Progress.rows(rows), action);
      }
      report.table(d.table().target().toString(), rows, action);
    }
    progress.say("");
    progress.say("Summary (published all-or-nothing in one transaction):");
    for (Map.Entry<Category, Count> e : sortedByPromoteOrder(counts)) {
      Count c = e.getValue();
      progress.say("  %-18s %d%s", e.getKey().label() + " tables:", c.tables(),
          c.unchanged() > 0 ? " (" + c.unchanged() + " unchanged, skipped)" : "");
    }
    progress.say("  %-18s %s", "Total rows:", Progress.rows(total));
    progress.say("  %-18s %s", "Time:", Progress.seconds(System.nanoTime() - started));
    progress.say("");
    phases.print(progress, started, BACKGROUND);
    report.detail("tablesCopied", k).detail("tablesUnchanged", decided.size() - k).detail("totalRows", total);
    phases.report(report);
  }

  private static List<Map.Entry<Category, Count>> sortedByPromoteOrder(Map<Category, Count> counts) {
    return counts.entrySet().stream()
        .sorted((a, b) -> Integer.compare(a.getKey().promoteOrder(), b.getKey().promoteOrder())).toList();
  }
}
