package org.warehouse.pipelines.common;

/** Option checks made before a run touches anything: a bad value is a usage error (exit 2). */
public final class Validate {
  private Validate() {}

  /** "--{option} must be at least {min} (got {value})" unless {@code value >= min}. */
  public static void atLeast(String option, long value, long min) {
    if (value < min) {
      throw new UsageException("--" + option + " must be at least " + min + " (got " + value + ")");
    }
  }
}
