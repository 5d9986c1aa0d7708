package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.sql.SQLException;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.MetricsFilter;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Before anything is published: what the pipeline read and chose agrees with the database. The rows it
 * read equal the backup copy's rows (both are "every row with id ≤ the snapshot"), and the survivor-id
 * table holds exactly the survivors it counted, each id once.
 */
final class DedupeVerify {
  private DedupeVerify() {}

  /** The pipeline's counters for one table. */
  record PipelineCounts(long rowsRead, long kept, long duplicates) {
    static final PipelineCounts NONE = new PipelineCounts(0, 0, 0);

    /** The counters {@code ReadKeyCandidates} and {@code IdChunks} keep per table ({@code dedupe.<table>}). */
    static PipelineCounts of(PipelineResult result, TableRef table) {
      String ns = "dedupe." + table;
      return new PipelineCounts(counter(result, ns, "rowsRead"), counter(result, ns, "kept"),
          counter(result, ns, "duplicates"));
    }
  }

  /** One table ready to publish: the pipeline's counts and the backup copy's count and checksum. */
  record Verified(Snapshot snapshot, PipelineCounts counts, WorkTables.BackupCopy backup) {}

  static Verified verify(Connection c, Snapshot s, PipelineCounts counts, WorkTables.BackupCopy backup)
      throws SQLException {
    TableRef table = s.table().table();
    if (counts.rowsRead() != backup.rows().rows()) {
      throw new WarehouseException("table " + table + ": the pipeline read " + counts.rowsRead() + " rows but "
          + backup.rows().rows() + " rows have id <= " + s.maxId() + " (rows changed during the run?); nothing changed, "
          + "re-run");
    }
    TableRef keep = s.table().keepTable();
    long keepRows = Db.countRows(c, keep);
    if (keepRows != counts.kept()) {
      throw new WarehouseException("table " + table + ": " + keepRows + " survivor ids written, expected "
          + counts.kept() + "; nothing changed, re-run");
    }
    Db.execute(c, "ALTER TABLE " + keep.quoted() + " ADD PRIMARY KEY (id)");
    Db.execute(c, "ANALYZE " + keep.quoted());
    return new Verified(s, counts, backup);
  }

  private static long counter(PipelineResult result, String namespace, String name) {
    long sum = 0;
    for (MetricResult<Long> m : result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.named(namespace, name)).build()).getCounters()) {
      Long v;
      try {
        v = m.getCommitted();
      } catch (UnsupportedOperationException e) {
        v = m.getAttempted();
      }
      sum += v == null ? 0 : v;
    }
    return sum;
  }
}
