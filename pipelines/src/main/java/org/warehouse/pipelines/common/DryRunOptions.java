package org.warehouse.pipelines.common;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** {@code --dryRun}, shared by every pipeline that can show its plan without changing anything. */
public interface DryRunOptions extends PipelineOptions {
  @Description("Print the plan and change nothing")
  @Default.Boolean(false)
  boolean getDryRun();

  void setDryRun(boolean value);
}
