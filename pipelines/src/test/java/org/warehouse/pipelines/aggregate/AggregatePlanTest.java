package org.warehouse.pipelines.aggregate;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Test;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;

/** The plan from options alone: no database. */
public class AggregatePlanTest {
  private static AggregatePipeline.AggregateOptions options(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "--jdbcUrl=jdbc:postgresql://127.0.0.1:1/warehouse";
    System.arraycopy(args, 0, all, 1, args.length);
    return PipelineOptionsFactory.fromArgs(all).as(AggregatePipeline.AggregateOptions.class);
  }

  @Test
  public void namesEveryTableAndAStagingTablePerRun() {
    AggregatePlan plan = AggregatePlan.of(options("--schema=mart", "--factTable=raw.births"), 2, "abc123");
    assertEquals(TableRef.of("raw", "births"), plan.fact());
    assertEquals(TableRef.of("mart", "dim_ibge_id_states"), plan.dimensions().get(1));
    assertEquals(AggTable.values().length, plan.targets().size());
    assertEquals(TableRef.of("mart", "agg_state_daily"), plan.targets().get(AggTable.STATE_DAILY));
    assertEquals(TableRef.of("mart", "agg_state_daily__staging_abc123"), plan.staging().get(AggTable.STATE_DAILY));
    assertEquals(TableRef.of("mart", "agg_unmatched_municipality"), plan.unmatchedTarget());
    int i = 0;
    for (TableSwap.Swap s : plan.swaps()) {
      AggTable t = AggTable.values()[i++];
      assertEquals(plan.staging().get(t), s.stagingRef());
      assertEquals(plan.targets().get(t), s.targetRef());
    }
  }

  @Test
  public void twoRunsNeverShareAStagingTable() {
    Set<TableRef> seen = new HashSet<>();
    for (String run : new String[] {"aaaaaa", "aaaaab"}) {
      seen.addAll(AggregatePlan.of(options(), 2, run).staging().values());
    }
    assertEquals(2 * AggTable.values().length, seen.size());
  }

  @Test
  public void zeroPartitionsMeansFourPerCore() {
    assertEquals(8, AggregatePlan.of(options(), 2, "r").partitions());
    assertEquals(4, AggregatePlan.of(options(), 1, "r").partitions());
    assertEquals(3, AggregatePlan.of(options("--partitions=3"), 16, "r").partitions());
    assertTrue(AggregatePlan.of(options("--allowEmpty=true"), 2, "r").allowEmpty());
    assertEquals(60, AggregatePlan.of(options(), 2, "r").lockTimeoutSeconds());
  }

  @Test
  public void badCountsAreUsageErrors() {
    assertThat(assertThrows(UsageException.class, () -> AggregatePlan.of(options("--partitions=-1"), 2, "r"))
        .getMessage(), containsString("--partitions must be at least 0 (got -1)"));
    assertThat(assertThrows(UsageException.class, () -> AggregatePlan.of(options("--lockTimeoutSeconds=0"), 2, "r"))
        .getMessage(), containsString("--lockTimeoutSeconds must be at least 1 (got 0)"));
    assertThat(assertThrows(UsageException.class, () -> AggregatePlan.of(options("--lockTimeoutSeconds=-1"), 2, "r"))
        .getMessage(), containsString("--lockTimeoutSeconds must be at least 1 (got -1)"));
  }
}
