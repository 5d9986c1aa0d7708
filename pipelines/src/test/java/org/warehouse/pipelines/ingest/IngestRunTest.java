package org.warehouse.pipelines.ingest;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.Test;

/**
 * What a failed run does to read which files it committed when the failure was a server restart: it
 * tries again while the server refuses connections or is starting up, for a bounded time (without a
 * database: the reads are stand-ins that fail as PostgreSQL's driver does).
 */
public class IngestRunTest {
  private static final Duration PAUSE = Duration.ofMillis(10);

  private static SQLException startingUp() {
    return new SQLException("FATAL: the database system is starting up", "57P03");
  }

  @Test
  public void aReadThatFailsWhileTheServerRestartsIsTriedAgainUntilItAnswers() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    String read = IngestRun.whenTheServerAnswers(Duration.ofSeconds(30), PAUSE, () -> {
      switch (calls.incrementAndGet()) {
        case 1: throw new SQLException("Connection to 127.0.0.1:5432 refused", "08001");
        case 2: throw startingUp();
        default: return "sinasc_000.csv";
      }
    });
    assertEquals("sinasc_000.csv", read);
    assertEquals(3, calls.get());
  }

  @Test
  public void anyOtherFailureIsThrownAtOnce() {
    AtomicInteger calls = new AtomicInteger();
    SQLException missing = new SQLException("relation \"ingest_files__run_abc123\" does not exist", "42P01");
    SQLException thrown = assertThrows(SQLException.class, () -> IngestRun.whenTheServerAnswers(Duration.ofSeconds(30),
        PAUSE, () -> {
          calls.incrementAndGet();
          throw missing;
        }));
    assertSame(missing, thrown);
    assertEquals(1, calls.get());
  }

  @Test
  public void aServerThatDoesNotComeBackFailsAfterThePatience() {
    AtomicInteger calls = new AtomicInteger();
    long started = System.nanoTime();
    SQLException thrown = assertThrows(SQLException.class, () -> IngestRun.whenTheServerAnswers(Duration.ofMillis(200),
        PAUSE, () -> {
          calls.incrementAndGet();
          throw startingUp();
        }));
    long waitedMillis = (System.nanoTime() - started) / 1_000_000;
    assertEquals("57P03", thrown.getSQLState());
    assertTrue("tried again: " + calls.get(), calls.get() > 1);
    assertTrue("bounded: waited " + waitedMillis + " ms", waitedMillis < 10_000);
  }
}
