package org.warehouse.pipelines.promote;

import java.util.List;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PDone;
import org.warehouse.pipelines.promote.targetdb.BulkLoader;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.tablecopy.ReadTableRanges;
import org.warehouse.transforms.tablecopy.TableRange;

/**
 * promote's Beam graph: every table's ctid ranges, spread over the workers, read from the source in
 * the run's snapshot as COPY text chunks, loaded into the staging tables through the target's {@link
 * BulkLoader}. The same graph for every kind of target.
 */
public final class CopyTables extends PTransform<PBegin, PDone> {
  private static final long serialVersionUID = 1L;

  private final List<TableRange> ranges;
  private final JdbcConfig source;
  private final ReadTableRanges.Mode mode;
  private final String snapshot;
  private final BulkLoader loader;

  CopyTables(List<TableRange> ranges, JdbcConfig source, ReadTableRanges.Mode mode, String snapshot,
      BulkLoader loader) {
    this.ranges = List.copyOf(ranges);
    this.source = source;
    this.mode = mode;
    this.snapshot = snapshot;
    this.loader = loader;
  }

  /** Builds the whole graph of a run on {@code p}. */
  public static void build(Pipeline p, List<TableRange> ranges, JdbcConfig source, ReadTableRanges.Mode mode,
      String snapshot, BulkLoader loader) {
    p.apply("CopyTables", new CopyTables(ranges, source, mode, snapshot, loader));
  }

  @Override
  public PDone expand(PBegin begin) {
    return begin
        .apply("TableRanges", Create.of(ranges).withCoder(TableRange.Coder.of()))
        .apply("SpreadRanges", Reshuffle.viaRandomKey())
        .apply("ReadFromSource", ReadTableRanges.from(source, mode).inSnapshot(snapshot))
        .apply("LoadIntoStagingTables", new LoadIntoTarget(loader));
  }
}
