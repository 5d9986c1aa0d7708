package org.warehouse.pipelines.common;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.junit.Assert.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import org.junit.Test;

/** Beam's JdbcUtil prints the schema of every JdbcIO read query to stdout; the launcher drops just that. */
public class BeamStdoutFilterTest {
  private static String stdoutOf(boolean filtered) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream captured = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    PrintStream old = System.out;
    System.setOut(filtered ? BeamStdoutFilter.wrap(captured, StandardCharsets.UTF_8) : captured);
    try {
      // what JdbcIO's read function calls for each query
      Method m = Class.forName(BeamStdoutFilter.NOISY_CLASS).getDeclaredMethod("extractTableFromReadQuery", String.class);
      m.setAccessible(true);
      m.invoke(null, "SELECT a, b FROM myschema.t WHERE a > 1");
      System.out.println("[1/1] ours: São Paulo ✓");
    } finally {
      System.setOut(old);
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  public void dropsOnlyWhatBeamsJdbcUtilPrintsAndKeepsEverythingElse() throws Exception {
    assertThat("Beam 2.70 prints the schema name", stdoutOf(false), containsString("myschema\n"));
    assertEquals("[1/1] ours: São Paulo ✓\n", stdoutOf(true));
  }
}
