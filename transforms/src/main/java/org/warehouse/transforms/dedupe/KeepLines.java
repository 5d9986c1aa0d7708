package org.warehouse.transforms.dedupe;

import java.util.ArrayList;
import java.util.List;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;

/**
 * (key, survivor) → (keep table, COPY line "id"), counting per table the kept rows and the
 * duplicates (group size − 1). {@code keepTables.get(i)} is table i's work table.
 */
public class KeepLines extends DoFn<KV<String, Candidate>, KV<String, String>> {
  private static final long serialVersionUID = 1L;

  private final List<String> keepTables;
  private final List<Counter> kept = new ArrayList<>();
  private final List<Counter> duplicates = new ArrayList<>();

  public KeepLines(List<String> keepTables, List<String> tableNames) {
    this.keepTables = List.copyOf(keepTables);
    for (String t : tableNames) {
      kept.add(Metrics.counter("dedupe." + t, "kept"));
      duplicates.add(Metrics.counter("dedupe." + t, "duplicates"));
    }
  }

  @ProcessElement
  public void process(@Element KV<String, Candidate> survivor, OutputReceiver<KV<String, String>> out) {
    int t = KeyCandidateMapper.tableIndex(survivor.getKey());
    Candidate c = survivor.getValue();
    kept.get(t).inc();
    duplicates.get(t).inc(c.count - 1);
    out.output(KV.of(keepTables.get(t), Long.toString(c.id)));
  }
}
