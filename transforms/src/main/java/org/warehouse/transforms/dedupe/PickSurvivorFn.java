package org.warehouse.transforms.dedupe;

import org.apache.beam.sdk.coders.CannotProvideCoderException;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.CoderRegistry;
import org.apache.beam.sdk.transforms.Combine;

/**
 * Combine.perKey rule: keeps the {@link Candidate} that {@link Candidate#beats} every other one of
 * its natural key, and counts the group. Deterministic whatever the bundling or combine order
 * (the rule is a total order on (latest, id) and ids are unique), unlike
 * Distinct.withRepresentativeValueFn.
 */
public final class PickSurvivorFn extends Combine.CombineFn<Candidate, Candidate, Candidate> {
  private static final long serialVersionUID = 1L;
  private static final Candidate EMPTY = new Candidate(Long.MIN_VALUE, Long.MIN_VALUE, false, 0);

  @Override
  public Candidate createAccumulator() {
    return EMPTY;
  }

  @Override
  public Candidate addInput(Candidate acc, Candidate input) {
    return pick(acc, input);
  }

  @Override
  public Candidate mergeAccumulators(Iterable<Candidate> accumulators) {
    Candidate best = EMPTY;
    for (Candidate a : accumulators) {
      best = pick(best, a);
    }
    return best;
  }

  @Override
  public Candidate extractOutput(Candidate acc) {
    return acc;
  }

  static Candidate pick(Candidate a, Candidate b) {
    if (a.count == 0) {
      return b;
    }
    if (b.count == 0) {
      return a;
    }
    Candidate winner = a.beats(b) ? a : b;
    return winner.withCount(a.count + b.count);
  }

  @Override
  public Coder<Candidate> getAccumulatorCoder(CoderRegistry registry, Coder<Candidate> inputCoder)
      throws CannotProvideCoderException {
    return Candidate.CandidateCoder.of();
  }

  @Override
  public Coder<Candidate> getDefaultOutputCoder(CoderRegistry registry, Coder<Candidate> inputCoder)
      throws CannotProvideCoderException {
    return Candidate.CandidateCoder.of();
  }
}
