package org.warehouse.pipelines.aggregate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.aggregate.AggregatePipeline.AggregateOptions;
import org.warehouse.pipelines.common.LockTimeoutOptions;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.Validate;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.births.Dimensions;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;

/**
 * What {@code scripts/run aggregate} reads and writes, from its options alone: the fact and dimension
 * tables, each agg table and the staging table this run builds it in (named with the run's id, so two
 * runs never share one), the number of birth_id ranges read in parallel. Executes nothing.
 *
 * @param fact the fact table
 * @param dimensions the region, state and municipality tables, in that order
 * @param targets every agg table, in {@link AggTable} order
 * @param staging the staging table of each agg table
 * @param partitions birth_id ranges read in parallel (resolved: never 0)
 */
public record AggregatePlan(TableRef fact, List<TableRef> dimensions, Map<AggTable, TableRef> targets,
    Map<AggTable, TableRef> staging, int partitions, String runId, boolean allowEmpty, int lockTimeoutSeconds) {

  /** What the staging tables' names carry after the target's: {@code agg_yearly__staging_<run>}. */
  public static final String STAGING_KIND = "staging";

  /** The plan for {@code options} on a machine with {@code cores} cores; usage errors are thrown here. */
  public static AggregatePlan of(AggregateOptions options, int cores, String runId) {
    Validate.atLeast("partitions", options.getPartitions(), 0);
    LockTimeoutOptions.validate(options);
    String schema = options.getSchema();
    Map<AggTable, TableRef> targets = new EnumMap<>(AggTable.class);
    Map<AggTable, TableRef> staging = new EnumMap<>(AggTable.class);
    for (AggTable t : AggTable.values()) {
      TableRef target = TableRef.of(schema, t.tableName());
      targets.put(t, target);
      staging.put(t, Staging.name(target, STAGING_KIND, runId));
    }
    int partitions = options.getPartitions() > 0 ? options.getPartitions() : Math.max(4, 4 * cores);
    return new AggregatePlan(TableRef.parse(options.getFactTable(), schema),
        List.of(TableRef.of(schema, Dimensions.REGIONS), TableRef.of(schema, Dimensions.STATES),
            TableRef.of(schema, Dimensions.MUNICIPALITIES)),
        Collections.unmodifiableMap(targets), Collections.unmodifiableMap(staging), partitions, runId,
        options.getAllowEmpty(), options.getLockTimeoutSeconds());
  }

  /** The table listing births whose residence code matches no municipality. */
  public TableRef unmatchedTarget() {
    return targets.get(AggTable.UNMATCHED_MUNICIPALITY);
  }

  /** Every staging table published as its target, in {@link AggTable} order. */
  public List<TableSwap.Swap> swaps() {
    List<TableSwap.Swap> swaps = new ArrayList<>();
    for (AggTable t : AggTable.values()) {
      swaps.add(new TableSwap.Swap(staging.get(t), targets.get(t)));
    }
    return swaps;
  }
}
