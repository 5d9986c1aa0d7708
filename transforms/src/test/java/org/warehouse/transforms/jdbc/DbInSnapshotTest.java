package org.warehouse.transforms.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertThrows;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.testing.TestDatabase;

/** Db.inSnapshot against PostgreSQL: the exported snapshot's rows, and giving way to a waiting swap. */
public class DbInSnapshotTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  @Test
  public void readsTheExportedSnapshotAndGivesWayToASessionWaitingForAnExclusiveLock() throws Exception {
    try (Connection setup = DB.connect()) {
      Db.execute(setup, "DROP TABLE IF EXISTS snap_t");
      Db.execute(setup, "CREATE TABLE snap_t (x int)");
      Db.execute(setup, "INSERT INTO snap_t VALUES (1)");
    }
    try (Connection exporter = DB.connect();
        Connection reader = DB.connect();
        Connection writer = DB.connect();
        Connection swapper = DB.connect()) {
      Db.execute(reader, "SET statement_timeout = '10s'"); // a read queued behind the swap fails instead of hanging
      exporter.setAutoCommit(false);
      Db.execute(exporter, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      Db.execute(exporter, "LOCK TABLE snap_t IN ACCESS SHARE MODE");
      String snapshot = Db.queryString(exporter, "SELECT pg_export_snapshot()");
      Db.execute(writer, "INSERT INTO snap_t VALUES (2)"); // committed after the snapshot

      assertThat("the snapshot's rows, not today's", Db.inSnapshot(reader, snapshot, "snap_t",
          () -> Db.queryLong(reader, "SELECT count(*) FROM snap_t")), equalTo(1L));

      AtomicReference<Throwable> swapError = new AtomicReference<>();
      swapper.setAutoCommit(false);
      Thread swap = new Thread(() -> {
        try {
          Db.execute(swapper, "LOCK TABLE snap_t IN ACCESS EXCLUSIVE MODE");
          swapper.rollback();
        } catch (SQLException e) {
          swapError.set(e);
        }
      });
      swap.start();
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (Db.queryLong(writer, "SELECT count(*) FROM pg_locks WHERE relation = 'snap_t'::regclass "
          + "AND mode = 'AccessExclusiveLock' AND NOT granted") == 0) {
        assertThat("the swap waits for its lock", swapError.get() == null && System.nanoTime() < deadline, equalTo(true));
        Thread.sleep(10);
      }
      WarehouseException e = assertThrows(WarehouseException.class, () -> Db.inSnapshot(reader, snapshot, "snap_t",
          () -> Db.queryLong(reader, "SELECT count(*) FROM snap_t")));
      assertThat(e.getMessage(), containsString("another session is waiting for an exclusive lock on snap_t"));
      assertThat(e.getMessage(), containsString("this run gives way"));

      exporter.rollback(); // the exporting transaction ends: the swap gets its lock
      swap.join(10_000);
      assertThat("the waiting session got its lock", swap.isAlive() ? "still waiting" : String.valueOf(swapError.get()),
          equalTo("null"));
    }
  }
}
