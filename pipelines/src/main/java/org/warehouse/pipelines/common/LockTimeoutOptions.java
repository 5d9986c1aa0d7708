package org.warehouse.pipelines.common;

import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;

/** {@code --lockTimeoutSeconds}, shared by every pipeline that takes table locks. */
public interface LockTimeoutOptions extends PipelineOptions {
  @Description("Seconds to wait for a table lock (readers or writers holding it) before giving up with nothing changed")
  @Default.Integer(60)
  int getLockTimeoutSeconds();

  void setLockTimeoutSeconds(int value);

  /** At least 1 s: 0 would wait forever and a negative value is refused only by the server, late. */
  static void validate(LockTimeoutOptions o) {
    Validate.atLeast("lockTimeoutSeconds", o.getLockTimeoutSeconds(), 1);
  }
}
