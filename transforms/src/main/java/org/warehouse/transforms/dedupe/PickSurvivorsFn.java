package org.warehouse.transforms.dedupe;

import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.MapCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.values.KV;

/**
 * The survivor rule ({@link Candidate#survivor}: latest wins, ties → highest id), applied per natural
 * key inside one (table, shard) group of {@link KeyByTableShard}: the accumulator maps each natural key
 * of the shard to its best candidate so far (group size counted). Used as {@code Combine.perKey} over
 * the (table, shard) keys: the same survivors a Combine.perKey over the natural keys would give (the
 * rule is a total order on (latest, id), so neither bundling nor merge order matters), with a few
 * runner keys per table instead of one per natural key.
 */
public final class PickSurvivorsFn
    extends Combine.CombineFn<KV<String, Candidate>, Map<String, Candidate>, Map<String, Candidate>> {
  private static final long serialVersionUID = 1L;

  @Override
  public Map<String, Candidate> createAccumulator() {
    return new HashMap<>();
  }

  @Override
  public Map<String, Candidate> addInput(Map<String, Candidate> acc, KV<String, Candidate> input) {
    acc.merge(input.getKey(), input.getValue(), Candidate::survivor);
    return acc;
  }

  @Override
  public Map<String, Candidate> mergeAccumulators(Iterable<Map<String, Candidate>> accumulators) {
    Map<String, Candidate> merged = null;
    for (Map<String, Candidate> a : accumulators) {
      if (merged == null) {
        merged = new HashMap<>(a);
      } else {
        for (Map.Entry<String, Candidate> e : a.entrySet()) {
          merged.merge(e.getKey(), e.getValue(), Candidate::survivor);
        }
      }
    }
    return merged == null ? createAccumulator() : merged;
  }

  @Override
  public Map<String, Candidate> extractOutput(Map<String, Candidate> acc) {
    return acc;
  }

  @Override
  public Coder<Map<String, Candidate>> getAccumulatorCoder(CoderRegistry registry,
      Coder<KV<String, Candidate>> inputCoder) throws CannotProvideCoderException {
    return MapCoder.of(StringUtf8Coder.of(), Candidate.CandidateCoder.of());
  }

  @Override
  public Coder<Map<String, Candidate>> getDefaultOutputCoder(CoderRegistry registry,
      Coder<KV<String, Candidate>> inputCoder) throws CannotProvideCoderException {
    return MapCoder.of(StringUtf8Coder.of(), Candidate.CandidateCoder.of());
  }

  /** The input coder this fn expects (for {@code setCoder} before the Combine). */
  public static Coder<KV<String, Candidate>> inputCoder() {
    return KvCoder.of(StringUtf8Coder.of(), Candidate.CandidateCoder.of());
  }
}
