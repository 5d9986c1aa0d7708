package org.warehouse.transforms.dedupe;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Combine;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.junit.Rule;
import org.junit.Test;

public class PickSurvivorsFnTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static KV<String, Candidate> c(String key, long id, long latest, boolean latestNull) {
    return KV.of(key, new Candidate(id, latest, latestNull, 1));
  }

  /** Worked by hand: latest wins, ties → highest id, a NULL latest counts as the latest. */
  private static final List<KV<String, Candidate>> ROWS = List.of(
      c("0|a", 1, 100, false), c("0|a", 2, 300, false), c("0|a", 3, 200, false), // 2 (latest)
      c("0|b", 4, 500, false), c("0|b", 9, 500, false), c("0|b", 5, 500, false), // 9 (tie → id)
      c("0|c", 6, 900, false), c("0|c", 7, 0, true),                              // 7 (NULL latest)
      c("1|a", 8, 100, false));                                                    // 8 (other table)

  @Test
  public void picksTheDistinctOnSurvivorOfEveryNaturalKeyInsideTheShards() {
    PCollection<KV<Integer, Map<String, Candidate>>> out = p
        .apply(Create.of(ROWS).withCoder(PickSurvivorsFn.inputCoder()))
        .apply(ParDo.of(new KeyByTableShard(2)))
        .setCoder(KvCoder.of(VarIntCoder.of(), PickSurvivorsFn.inputCoder()))
        .apply(Combine.perKey(new PickSurvivorsFn()));
    PAssert.that(out).satisfies(shards -> {
      java.util.Map<String, Long> survivors = new java.util.TreeMap<>();
      java.util.Map<String, Long> counts = new java.util.TreeMap<>();
      for (KV<Integer, Map<String, Candidate>> shard : shards) {
        for (Map.Entry<String, Candidate> e : shard.getValue().entrySet()) {
          // a natural key is in exactly one shard, of its own table
          assertThat(survivors.put(e.getKey(), e.getValue().id), equalTo(null));
          assertThat(shard.getKey() / 2, equalTo(Integer.parseInt(e.getKey().substring(0, 1))));
          counts.put(e.getKey(), e.getValue().count);
        }
      }
      assertThat(survivors, equalTo(Map.of("0|a", 2L, "0|b", 9L, "0|c", 7L, "1|a", 8L)));
      assertThat(counts, equalTo(Map.of("0|a", 3L, "0|b", 3L, "0|c", 2L, "1|a", 1L)));
      return null;
    });
    p.run().waitUntilFinish();
  }

  @Test
  public void sameSurvivorsWhateverTheOrderAndSplitOfTheAccumulators() {
    PickSurvivorsFn fn = new PickSurvivorsFn();
    Map<String, Candidate> expected = null;
    Random random = new Random(7);
    for (int round = 0; round < 50; round++) {
      List<KV<String, Candidate>> rows = new ArrayList<>(ROWS);
      Collections.shuffle(rows, random);
      List<Map<String, Candidate>> parts = new ArrayList<>();
      Map<String, Candidate> acc = fn.createAccumulator();
      for (KV<String, Candidate> r : rows) {
        acc = fn.addInput(acc, r);
        if (random.nextInt(3) == 0) {
          parts.add(acc);
          acc = fn.createAccumulator();
        }
      }
      parts.add(acc);
      Collections.shuffle(parts, random);
      Map<String, Candidate> merged = fn.extractOutput(fn.mergeAccumulators(parts));
      if (expected == null) {
        expected = merged;
      }
      assertThat(merged, equalTo(expected));
    }
    assertThat(expected.get("0|b").id, equalTo(9L));
  }
}
