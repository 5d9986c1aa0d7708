package org.warehouse.pipelines.repartition;

import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.tablecopy.TableChecksum;

/** The plan, the dry run's DDL and the summary, as printed, and the summary's figures in the report. */
final class PlanPrinter {
  private PlanPrinter() {}

  static void plan(RepartitionPlan plan, Progress progress) {
    List<LocalDate> months = plan.months();
    progress.say("repartition %s by month of %s:", plan.table(), plan.column());
    progress.say("  rows        %s; rows from %s to %s", plan.estimate(), plan.span().first().toString().substring(0, 7),
        plan.span().last().toString().substring(0, 7));
    progress.say("  partitions  %d monthly, %s .. %s (%d month(s) ahead), and %s (NULL, earlier or later dates)",
        months.size(), plan.partition(months.get(0)).name(), plan.partition(months.get(months.size() - 1)).name(),
        plan.monthsAhead(), plan.defaultPartition().name());
    for (String change : plan.keyChanges()) {
      progress.say("  key         %s", change);
    }
    progress.say("  disk        %s", plan.diskSpace());
    progress.say("  backup      the original stays as %s (drop it when satisfied; --rollback puts it back)",
        plan.backup().name());
    if (plan.online()) {
      progress.say("  locks       online: writers go on; the trigger %s logs the keys (%s) of changed rows; writers "
          + "wait only for the switch", RepartitionPlan.captureOf(plan.table()),
          String.join(", ", plan.shape().rowKey().columns()));
    } else {
      progress.say("  locks       offline: writers wait until the swap (SHARE lock); readers wait only for the swap itself");
    }
  }

  static void dryRun(RepartitionPlan plan, Progress progress) {
    plan(plan, progress);
    PartitionDdl ddl = new PartitionDdl(plan);
    progress.say("DDL (dry run: nothing was changed):");
    int shown = 0;
    for (String sql : ddl.createSql()) {
      if (sql.startsWith("CREATE TABLE") && sql.contains(" PARTITION OF ") && !sql.endsWith(" DEFAULT")
          && shown++ >= 2) {
        continue;
      }
      progress.say("  %s;", sql);
    }
    if (shown > 2) {
      progress.say("  -- and %d more monthly partitions like those", shown - 2);
    }
    if (plan.online()) {
      progress.say("  -- capture the changes from before the copy on:");
      ChangeCapture capture = new ChangeCapture(plan);
      for (String sql : capture.createSql()) {
        progress.say("  %s;", sql);
      }
      capture.triggerSql().forEach(sql -> progress.say("  %s;", sql));
    }
    progress.say("  -- copy in ranges%s, verify, then:", plan.online() ? ", catch up" : "");
    for (String sql : ddl.keySql()) {
      progress.say("  %s;", sql);
    }
    progress.say("  -- the swap:");
    for (String sql : ddl.swapSql()) {
      progress.say("  %s;", sql);
    }
  }

  static void summary(RepartitionPlan plan, Proof proof, SwitchResult sw, List<String> scanned, long nanos,
      Progress progress) {
    progress.say("repartition: summary");
    progress.say("  table       %s, partitioned by range of %s: %d monthly partitions + %s", plan.table(),
        plan.column(), plan.months().size(), plan.defaultPartition().name());
    if (plan.online()) {
      progress.say("  rows        %s verified in their month's partition at one snapshot (count + checksum per "
          + "partition), then the %s row(s) of %s key(s) changed since, under the switch lock; no key of the "
          + "original is missing", Progress.rows(proof.rows()), Progress.rows(sw.changedRows()),
          Progress.rows(sw.changedKeys()));
      progress.say("  catch-up    %d round(s) before the switch, keys applied %s; %s at the switch",
          proof.deltas().size(), proof.deltas(), Progress.rows(sw.lastDelta()));
    } else {
      progress.say("  rows        %s, every one verified in its month's partition", Progress.rows(proof.rows()));
    }
    progress.say("  pruning     a one-month query scans %s", String.join(", ", scanned));
    progress.say("  writers     blocked at most %.3f s%s", sw.writersBlockedNanos() / 1e9,
        plan.online() ? " (the switch)" : " (the whole run: --offline)");
    progress.say("  backup      %s (drop it when satisfied; --rollback=true puts it back)", plan.backup());
    progress.say("  time        %s", Progress.seconds(nanos));
  }

  static void report(RunReport report, RepartitionPlan plan, Proof proof, SwitchResult sw, List<String> scanned) {
    report.table(plan.table().toString(), proof.rows() + sw.changedRows(),
        "repartitioned into " + (plan.months().size() + 1) + " partitions");
    Map<String, Object> partitions = new LinkedHashMap<>();
    for (Map.Entry<String, TableChecksum> e : proof.partitions().entrySet()) {
      partitions.put(e.getKey(), Map.of("rows", e.getValue().rows(), "checksum", e.getValue().sum()));
    }
    report.detail("mode", plan.online() ? "online" : "offline");
    report.detail("verifiedPartitions", partitions);
    report.detail("missingKeys", Math.max(0, proof.missingKeys()));
    report.detail("catchUpRoundDeltas", proof.deltas());
    report.detail("switchDelta", sw.lastDelta());
    report.detail("changedKeysVerifiedUnderLock", sw.changedKeys());
    report.detail("oneMonthQueryScans", scanned);
    report.detail("writersBlockedSeconds", sw.writersBlockedNanos() / 1e9);
    report.detail("diskSpace", diskSpace(plan));
  }

  /** Needed and free bytes (free: null when not checked, with the reason) for the report. */
  static Map<String, Object> diskSpace(RepartitionPlan plan) {
    FreeSpace free = plan.freeSpace();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("neededBytes", RepartitionPlan.neededBytes(plan.shape()));
    out.put("tableBytes", plan.shape().totalBytes());
    out.put("tablespace", free.tablespace());
    out.put("freeBytes", free.checked() ? free.bytes() : null);
    out.put("reclaimableBytes", free.reclaimable());
    out.put("notChecked", free.notChecked());
    return out;
  }
}
