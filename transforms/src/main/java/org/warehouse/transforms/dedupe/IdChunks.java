package org.warehouse.transforms.dedupe;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;

/**
 * (table index × shards + shard, survivor per natural key) → (that table's work table, COPY text chunk of up to
 * {@code maxLines} "id\n" lines), for {@code WriteByCopy.chunksTo}: one COPY per chunk whatever the
 * runner's bundling. Counts per table the kept rows and the duplicates (group size − 1).
 */
public class IdChunks extends DoFn<KV<Integer, Map<String, Candidate>>, KV<String, String>> {
  private static final long serialVersionUID = 1L;

  private final List<String> keepTables;
  private final int shards;
  private final int maxLines;
  private final List<Counter> kept = new ArrayList<>();
  private final List<Counter> duplicates = new ArrayList<>();

  public IdChunks(List<String> keepTables, List<String> tableNames, int shards, int maxLines) {
    this.keepTables = List.copyOf(keepTables);
    this.shards = shards;
    this.maxLines = maxLines;
    for (String t : tableNames) {
      kept.add(Metrics.counter("dedupe." + t, "kept"));
      duplicates.add(Metrics.counter("dedupe." + t, "duplicates"));
    }
  }

  @ProcessElement
  public void process(@Element KV<Integer, Map<String, Candidate>> group, OutputReceiver<KV<String, String>> out) {
    int t = group.getKey() / shards;
    String table = keepTables.get(t);
    StringBuilder chunk = new StringBuilder();
    int lines = 0;
    long n = 0;
    long dups = 0;
    for (Candidate c : group.getValue().values()) {
      chunk.append(c.id).append('\n');
      n++;
      dups += c.count - 1;
      if (++lines == maxLines) {
        out.output(KV.of(table, chunk.toString()));
        chunk.setLength(0);
        lines = 0;
      }
    }
    if (lines > 0) {
      out.output(KV.of(table, chunk.toString()));
    }
    kept.get(t).inc(n);
    duplicates.get(t).inc(dups);
  }
}
