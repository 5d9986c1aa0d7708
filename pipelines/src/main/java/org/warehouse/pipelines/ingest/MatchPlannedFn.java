package org.warehouse.pipelines.ingest;

import java.io.FileNotFoundException;
import java.io.IOException;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.transforms.DoFn;

/** Path → its metadata; a file gone since planning is left out (verify then refuses it). */
final class MatchPlannedFn extends DoFn<String, MatchResult.Metadata> {
  private static final long serialVersionUID = 1L;

  @ProcessElement
  public void process(@Element String path, OutputReceiver<MatchResult.Metadata> out) throws IOException {
    try {
      out.output(FileSystems.matchSingleFileSpec(path));
    } catch (FileNotFoundException e) {
      // disappeared after planning: no summary row, so verify reports it
    }
  }
}
