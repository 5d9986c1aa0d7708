package org.warehouse.pipelines.common;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.Test;

/** Real threads dying with real exceptions, the handler installed on them. */
public class FlinkShutdownNoiseTest {
  private static String uncaughtOutput(String threadName, RuntimeException orNull, Error error) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    Thread t = new Thread(() -> {
      if (orNull != null) {
        throw orNull;
      }
      throw error;
    }, threadName);
    t.setUncaughtExceptionHandler(new FlinkShutdownNoise(new PrintStream(bytes, true, StandardCharsets.UTF_8)));
    t.start();
    t.join();
    return bytes.toString(StandardCharsets.UTF_8);
  }

  @Test
  public void theFlinkShutdownHooksClassLoadingErrorIsDropped() throws Exception {
    assertThat(uncaughtOutput("flink-shutdown-hook-1", null, new NoClassDefFoundError("scala/collection/mutable/Set$")),
        equalTo(""));
  }

  @Test
  public void everyOtherUncaughtExceptionIsPrintedWithItsThread() throws Exception {
    assertThat(uncaughtOutput("flink-shutdown-hook-1", new IllegalStateException("boom"), null),
        containsString("Exception in thread \"flink-shutdown-hook-1\" java.lang.IllegalStateException: boom"));
    assertThat(uncaughtOutput("worker-3", null, new NoClassDefFoundError("x/Y")),
        containsString("Exception in thread \"worker-3\" java.lang.NoClassDefFoundError: x/Y"));
  }
}
