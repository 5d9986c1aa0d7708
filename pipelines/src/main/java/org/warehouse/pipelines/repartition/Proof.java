package org.warehouse.pipelines.repartition;

import java.util.List;
import java.util.Map;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * What a run verified, for the summary and the report.
 *
 * @param partitions per partition, the count and checksum found equal on both sides (online: the rows
 *     without pending changes at one snapshot before the switch)
 * @param rows the rows of {@code partitions}
 * @param missingKeys keys of the original missing from the new table (always 0 in a proof; -1 offline,
 *     where the table cannot change and count + checksum cover it)
 * @param deltas keys applied by each catch-up round before the switch (online)
 */
public record Proof(Map<String, TableChecksum> partitions, long rows, long missingKeys, List<Long> deltas) {
  public Proof {
    partitions = Map.copyOf(partitions);
    deltas = List.copyOf(deltas);
  }
}
