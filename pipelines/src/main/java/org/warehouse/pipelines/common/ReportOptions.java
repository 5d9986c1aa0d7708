package org.warehouse.pipelines.common;

import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** Every pipeline's {@code --reportFile}: the same JSON report shape for all of them. */
public interface ReportOptions extends PipelineOptions {
  @Description("Write a JSON run report to this path (pipeline, status, times, per-table rows, counters)")
  String getReportFile();

  void setReportFile(String value);
}
