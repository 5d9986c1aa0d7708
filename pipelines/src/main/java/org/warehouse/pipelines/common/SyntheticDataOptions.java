package org.warehouse.pipelines.common;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/**
 * Options shared by the generators (generate, generate-csv): declared once, because Beam requires a
 * property to carry the same annotations in every options interface of a JVM.
 */
public interface SyntheticDataOptions extends PipelineOptions {
  @Description("Number of births to generate")
  @Default.Long(1_000_000L)
  long getBirths();

  void setBirths(long value);

  @Description("Random seed: the same seed gives the same rows")
  @Default.Long(42L)
  long getSeed();

  void setSeed(long value);
}
