package org.warehouse.pipelines.common;

import java.io.PrintStream;
import java.util.Locale;

/** What a person watching the run sees on stdout: steps, [i/N] lines and a summary block. */
public final class Progress {
  private final PrintStream out;

  public Progress(PrintStream out) {
    this.out = out;
  }

  public static Progress stdout() {
    return new Progress(System.out);
  }

  public void say(String format, Object... args) {
    out.println(String.format(Locale.ROOT, format, args));
    out.flush();
  }

  public void step(int i, int n, String format, Object... args) {
    say("[%d/%d] %s", i, n, String.format(Locale.ROOT, format, args));
  }

  public static String rows(long n) {
    return String.format(Locale.ROOT, "%,d", n);
  }

  public static String seconds(long nanos) {
    return String.format(Locale.ROOT, "%.1f s", nanos / 1e9);
  }
}
