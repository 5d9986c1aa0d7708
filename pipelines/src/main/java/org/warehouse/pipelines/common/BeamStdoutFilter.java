package org.warehouse.pipelines.common;

import java.io.PrintStream;
import java.nio.charset.Charset;

/**
 * Standard output without the lines Beam 2.70's {@code JdbcUtil.extractTableFromReadQuery} prints
 * there: every JdbcIO read prints the schema name it finds in its query ({@code null}, {@code public},
 * …) with {@code System.out.println}, a leftover debug line that lands between a pipeline's progress
 * lines and in a scheduler's log. Only {@code println(String)} calls made directly by that Beam class
 * are dropped (the caller is checked on the stack); everything else passes unchanged.
 */
public final class BeamStdoutFilter extends PrintStream {
  static final String NOISY_CLASS = "org.apache.beam.sdk.io.jdbc.JdbcUtil";
  private static final StackWalker WALKER = StackWalker.getInstance();

  private BeamStdoutFilter(PrintStream out, Charset charset) {
    super(out, true, charset);
  }

  /** {@code out} wrapped (once: an already filtered stream is returned as it is). */
  public static PrintStream wrap(PrintStream out) {
    return wrap(out, stdoutCharset());
  }

  /** {@code out} wrapped, encoding text in {@code charset} (the one {@code out} uses). */
  static PrintStream wrap(PrintStream out, Charset charset) {
    return out instanceof BeamStdoutFilter ? out : new BeamStdoutFilter(out, charset);
  }

  /** The charset the JDK gave System.out (Java 17: sun.stdout.encoding on a terminal, else the default). */
  static Charset stdoutCharset() {
    String name = System.getProperty("stdout.encoding", System.getProperty("sun.stdout.encoding"));
    try {
      return name != null ? Charset.forName(name) : Charset.defaultCharset();
    } catch (IllegalArgumentException e) {
      return Charset.defaultCharset();
    }
  }

  @Override
  public void println(String x) {
    // frame 0 is this method, frame 1 its caller
    boolean noise = WALKER.walk(s -> s.skip(1).findFirst().map(f -> f.getClassName().equals(NOISY_CLASS)).orElse(false));
    if (!noise) {
      super.println(x);
    }
  }
}
