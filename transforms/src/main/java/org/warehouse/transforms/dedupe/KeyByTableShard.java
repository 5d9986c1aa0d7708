package org.warehouse.transforms.dedupe;

import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;

/**
 * (encoded natural key, candidate) → (table index × shards + hash(natural key) mod shards, (natural
 * key, candidate)). Every candidate of one natural key lands in the same (table, shard), so {@link
 * PickSurvivorsFn} can pick its survivor there; the runner sees a few keys per table instead of one
 * per natural key (the DirectRunner makes one bundle per key after a Combine).
 */
public class KeyByTableShard extends DoFn<KV<String, Candidate>, KV<Integer, KV<String, Candidate>>> {
  private static final long serialVersionUID = 1L;

  private final int shards;

  public KeyByTableShard(int shards) {
    this.shards = shards;
  }

  @ProcessElement
  public void process(@Element KV<String, Candidate> candidate,
      OutputReceiver<KV<Integer, KV<String, Candidate>>> out) {
    String key = candidate.getKey();
    int t = KeyCandidateMapper.tableIndex(key);
    out.output(KV.of(t * shards + Math.floorMod(key.hashCode(), shards), candidate));
  }
}
