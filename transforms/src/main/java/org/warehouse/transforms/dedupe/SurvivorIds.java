package org.warehouse.transforms.dedupe;

import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;

/**
 * (key, survivor) → (table index × shards + id mod shards, survivor). The few (table, shard) keys
 * let a GroupByKey batch the survivors before the COPY sink: after a Combine the DirectRunner makes
 * one bundle per key, and a per-bundle sink would otherwise commit one COPY per survivor. No metrics
 * here (the DirectRunner commits a step's metrics once per bundle, i.e. per key): {@link IdChunks}
 * counts after the grouping.
 */
public class SurvivorIds extends DoFn<KV<String, Candidate>, KV<Integer, Candidate>> {
  private static final long serialVersionUID = 1L;

  private final int shards;

  public SurvivorIds(int shards) {
    this.shards = shards;
  }

  @ProcessElement
  public void process(@Element KV<String, Candidate> survivor, OutputReceiver<KV<Integer, Candidate>> out) {
    int t = KeyCandidateMapper.tableIndex(survivor.getKey());
    Candidate c = survivor.getValue();
    out.output(KV.of(t * shards + (int) Math.floorMod(c.id, (long) shards), c));
  }
}
