package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.jdbc.Db;

/** {@code --dryRun}: rows, distinct keys, duplicates, NULL-key rows and reclaimable size, computed in SQL; changes nothing. */
final class DedupeDryRun {
  private DedupeDryRun() {}

  /** Dry-run figures of one table. */
  record Stats(long rows, long nullKeyRows, long distinctKeys, long bytes) {
    long duplicates() {
      return rows - nullKeyRows - distinctKeys;
    }

    /** Estimated: the table's size (with indexes and TOAST) times the share of duplicate rows. */
    long reclaimableBytes() {
      return rows == 0 ? 0 : (long) ((double) bytes * duplicates() / rows);
    }
  }

  static void run(Connection c, DedupePlan plan, Progress progress, RunReport report) throws SQLException {
    int i = 0;
    long rows = 0;
    long duplicates = 0;
    long bytes = 0;
    for (DedupePlan.TablePlan tp : plan.tables()) {
      DedupeTarget t = tp.target();
      Stats s = stats(c, t);
      progress.step(++i, plan.tables().size(), "%s: %s rows / %s distinct keys / %s duplicates / %s NULL-key rows / "
              + "~%s MB reclaimable (dry run)", t.table(), Progress.rows(s.rows()), Progress.rows(s.distinctKeys()),
          Progress.rows(s.duplicates()), Progress.rows(s.nullKeyRows()), Progress.rows(s.reclaimableBytes() >> 20));
      report.table(t.table().toString(), s.rows(), "dry run: " + s.duplicates() + " duplicates");
      report.detail(t.table() + ".distinctKeys", s.distinctKeys()).detail(t.table() + ".duplicates", s.duplicates())
          .detail(t.table() + ".nullKeyRows", s.nullKeyRows()).detail(t.table() + ".reclaimableBytes", s.reclaimableBytes());
      rows += s.rows();
      duplicates += s.duplicates();
      bytes += s.reclaimableBytes();
    }
    progress.say("dedupe --dryRun: %s rows, %s duplicates, ~%s MB reclaimable; nothing changed",
        Progress.rows(rows), Progress.rows(duplicates), Progress.rows(bytes >> 20));
  }

  static Stats stats(Connection c, DedupeTarget t) throws SQLException {
    String q = t.table().quoted();
    long rows;
    long nullKeyRows;
    long bytes;
    try (PreparedStatement ps = c.prepareStatement("SELECT count(*), count(*) FILTER (WHERE " + t.keyAnyNull()
        + "), pg_total_relation_size(?::regclass) FROM " + q)) {
      ps.setString(1, q);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        rows = rs.getLong(1);
        nullKeyRows = rs.getLong(2);
        bytes = rs.getLong(3);
      }
    }
    long distinctKeys = Db.queryLong(c, "SELECT count(*) FROM (SELECT 1 FROM " + q + " WHERE " + t.keyNotNull("")
        + " GROUP BY " + t.quotedKey() + ") x");
    return new Stats(rows, nullKeyRows, distinctKeys, bytes);
  }
}
