package org.warehouse.pipelines.common;

import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.warehouse.transforms.jdbc.WarehouseException;

/** Runs a Beam pipeline from a driver and fails unless it ends DONE, saying what stays unchanged. */
public final class BeamRun {
  private BeamRun() {}

  /**
   * Starts {@code p}, registers it with {@code report} (a cancelled run cancels it), and waits for it:
   * see {@link #await}.
   */
  public static PipelineResult run(Pipeline p, RunReport report, String unchanged) {
    PipelineResult result = p.run();
    report.pipelineStarted(result);
    return await(result, report.pipeline(), unchanged);
  }

  /**
   * Waits for {@code result}; unless it ends DONE, throws a {@link WarehouseException}: "the {pipeline}
   * pipeline ended in state {S}; {unchanged}".
   */
  public static PipelineResult await(PipelineResult result, String pipeline, String unchanged) {
    PipelineResult.State state = result.waitUntilFinish();
    if (state != PipelineResult.State.DONE) {
      throw new WarehouseException("the " + pipeline + " pipeline ended in state " + state + "; " + unchanged);
    }
    return result;
  }
}
