package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.common.SqlWorkers;
import org.warehouse.pipelines.repartition.RepartitionPipeline.RepartitionOptions;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * {@code --offline=true}: a SHARE lock on the original from before the copy to the swap (readers go
 * on, writers wait for the whole run), so the copy and the checksums see one unchanging table; the
 * original's per-month checksum runs beside the copy on its own connection.
 */
final class OfflineMigration extends Migration {
  private SqlWorkers background;
  private Connection ddl;
  private CompletableFuture<Map<String, TableChecksum>> expected;
  private long locked;

  OfflineMigration(Connection c, JdbcConfig db, RepartitionOptions o, Progress progress, RunReport report) {
    super(c, db, o, progress, report);
  }

  @Override
  RepartitionPlan start(TableShape shape, FreeSpace free) throws Exception {
    int timeout = options.getLockTimeoutSeconds();
    WorkTables.dropLeftovers(c, shape.table(), timeout, progress);
    c.setAutoCommit(false);
    LockTimeouts.setLocal(c, timeout);
    locked = System.nanoTime();
    LockTimeouts.execute(c, "LOCK TABLE " + shape.table().quoted() + " IN SHARE MODE", shape.table().toString(), timeout,
        "a transaction is writing it");
    plan = new RepartitionPlan(shape, CatalogReader.months(c, shape), options.getMonthsAhead(), false, runId,
        free);
    dropOnCancel();
    PlanPrinter.plan(plan, progress);
    ddl = db.connect("warehouse-repartition-ddl");
    WorkTables.create(ddl, plan);
    background = new SqlWorkers(db, "warehouse-repartition-checksum", 1);
    expected = background.submit("checksum", sums -> new PartitionVerifier(plan).original(sums, null));
    return plan;
  }

  @Override
  Proof verify() throws Exception {
    progress.say("repartition: verifying every month against the original...");
    PartitionVerifier verifier = new PartitionVerifier(plan);
    Map<String, TableChecksum> actual = verifier.partitioned(ddl, null);
    long rows = verifier.compare(SqlWorkers.join(expected), actual, "every row");
    progress.say("repartition: verified %s rows in %d partitions: each partition's row count and checksum equal "
        + "the original's rows of its month", Progress.rows(rows), actual.size());
    WorkTables.keysAndAnalyze(ddl, plan, progress);
    Db.execute(ddl, "DROP TABLE " + plan.ledger().quoted());
    return new Proof(actual, rows, -1, List.of());
  }

  @Override
  SwitchResult publish(PipelineLock lock, Proof proof) throws Exception {
    try {
      int timeout = options.getLockTimeoutSeconds();
      long t0 = System.nanoTime();
      LockTimeouts.execute(c, "LOCK TABLE " + plan.table().quoted() + " IN ACCESS EXCLUSIVE MODE", plan.table().toString(),
          timeout, "long queries are reading it");
      long lockWait = System.nanoTime() - t0;
      Dependents dependents = switchOver(lock);
      long blocked = System.nanoTime() - locked;
      validate(dependents);
      return new SwitchResult(0, 0, 0, lockWait, blocked);
    } finally {
      close();
    }
  }

  @Override
  void abandon(Throwable cause) {
    close();
    super.abandon(cause);
  }

  private void close() {
    if (background != null) {
      background.close();
    }
    if (ddl != null) {
      try {
        ddl.close();
      } catch (java.sql.SQLException e) {
        // the connection is gone either way; the work tables are dropped on a fresh one
      }
      ddl = null;
    }
  }
}
