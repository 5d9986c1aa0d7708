package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.pipelines.repartition.RepartitionPipeline.RepartitionOptions;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * The default mode: the original stays writable. A capture trigger logs the key of every row written
 * from before the copy on; after the copy, catch-up rounds apply the logged keys to the new table until
 * a round finds few; the rows without pending changes are verified at one snapshot (writers go on);
 * the switch then takes the ACCESS EXCLUSIVE lock only to apply the last keys, verify the rows of every
 * key changed since that snapshot (in the partitions of the months the log names for them: index lookups,
 * never a scan of the whole table), drop the trigger and rename.
 */
final class OnlineMigration extends Migration {
  /** A round that applies at most this many keys ends the catching up. */
  static final long SMALL_DELTA = 1000;
  /** Rounds before giving up on a small delta (a writer faster than the rounds): the switch applies the rest. */
  static final int MAX_ROUNDS = 20;

  private final List<Long> deltas = new ArrayList<>();
  private ChangeCapture capture;
  private int verifiedRound;
  private long triggerBlockedNanos;

  OnlineMigration(Connection c, JdbcConfig db, RepartitionOptions o, Progress progress, RunReport report) {
    super(c, db, o, progress, report);
  }

  @Override
  RepartitionPlan start(TableShape shape, FreeSpace free) throws Exception {
    int timeout = options.getLockTimeoutSeconds();
    WorkTables.dropLeftovers(c, shape.table(), timeout, progress);
    plan = new RepartitionPlan(shape, CatalogReader.months(c, shape), options.getMonthsAhead(), true, runId,
        free);
    dropOnCancel();
    PlanPrinter.plan(plan, progress);
    capture = new ChangeCapture(plan);
    WorkTables.create(c, plan);
    Db.inTransaction(c, () -> {
      for (String sql : capture.createSql()) {
        Db.execute(c, sql);
      }
      LockTimeouts.setLocal(c, timeout);
      long t0 = System.nanoTime();
      // SHARE ROW EXCLUSIVE: waits for the transactions writing the table, which then are all captured or copied
      for (String trigger : capture.triggerSql()) {
        LockTimeouts.execute(c, trigger, plan.table().toString(), timeout, "a transaction is writing it");
      }
      triggerBlockedNanos = System.nanoTime() - t0;
      return null;
    });
    capture.prepare(c);
    return plan;
  }

  @Override
  Proof verify() throws Exception {
    catchUp(1);
    WorkTables.keysAndAnalyze(c, plan, progress);
    catchUp(MAX_ROUNDS);
    progress.say("repartition: verifying every month against the original at one snapshot (writers go on)...");
    PartitionVerifier verifier = new PartitionVerifier(plan);
    Proof proof = Db.inTransaction(c, () -> {
      Db.execute(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      verifiedRound = capture.rounds();
      String settled = "NOT " + capture.pending("t");
      Map<String, TableChecksum> actual = verifier.partitioned(c, settled);
      long rows = verifier.compare(verifier.original(c, settled), actual, "rows without pending changes");
      long missing = verifier.missingKeys(c, settled);
      return new Proof(actual, rows, missing, deltas);
    });
    progress.say("repartition: verified %s rows in %d partitions at one snapshot: each partition's row count and "
        + "checksum equal the original's rows of its month; no key of the original is missing",
        Progress.rows(proof.rows()), proof.partitions().size());
    catchUp(MAX_ROUNDS);
    Db.execute(c, "DROP TABLE " + plan.ledger().quoted());
    return new Proof(proof.partitions(), proof.rows(), proof.missingKeys(), deltas);
  }

  /** Catch-up rounds (each its own transaction) until one applies at most {@link #SMALL_DELTA} keys. */
  private void catchUp(int maxRounds) throws Exception {
    for (int i = 0; i < maxRounds; i++) {
      long t0 = System.nanoTime();
      long keys = Db.inTransaction(c, () -> capture.applyRound(c));
      deltas.add(keys);
      progress.say("repartition: catch-up round %d: %s changed key(s) applied in %s", capture.rounds(),
          Progress.rows(keys), Progress.seconds(System.nanoTime() - t0));
      if (keys <= SMALL_DELTA) {
        return;
      }
    }
    progress.say("repartition: writers change more than %s keys per round; the switch applies the rest", SMALL_DELTA);
  }

  @Override
  SwitchResult publish(PipelineLock lock, Proof proof) throws Exception {
    int timeout = options.getLockTimeoutSeconds();
    PartitionVerifier verifier = new PartitionVerifier(plan);
    c.setAutoCommit(false);
    LockTimeouts.setLocal(c, timeout);
    long t0 = System.nanoTime();
    LockTimeouts.execute(c, "LOCK TABLE " + plan.table().quoted() + " IN ACCESS EXCLUSIVE MODE", plan.table().toString(),
        timeout, "long queries or transactions are using it");
    long lockWait = System.nanoTime() - t0;
    long last = capture.applyLastRound(c);
    long applied = System.nanoTime();
    long changed = capture.collectChangedSince(c, verifiedRound);
    String inChanged = capture.inDelta("t");
    long rows = verifier.compare(verifier.original(c, inChanged), verifier.partitionedAt(c, locatedBranches()),
        "rows changed since the verification");
    long verified = System.nanoTime();
    Dependents dependents = switchOver(lock);
    long committed = System.nanoTime();
    validate(dependents);
    progress.say("repartition: switched: the last %s changed key(s) applied, the %s row(s) of the %s key(s) changed "
        + "since the verification verified; writers were blocked %s (lock wait %s, last round %s, verification %s, "
        + "renames and commit %s)", Progress.rows(last), Progress.rows(rows), Progress.rows(changed),
        ms(committed - t0), ms(lockWait), ms(applied - t0 - lockWait), ms(verified - applied), ms(committed - verified));
    long blocked = committed - t0;
    return new SwitchResult(last, changed, rows, lockWait, Math.max(blocked, triggerBlockedNanos));
  }

  /** Per partition holding changed keys' logged months, the query reading their rows there (see {@link ChangeCapture}). */
  private List<String> locatedBranches() throws java.sql.SQLException {
    List<String> branches = new ArrayList<>();
    capture.byPartition(capture.monthsChanged(c))
        .forEach((partition, in) -> branches.add(capture.locatedIn(plan.table().withName(partition), in)));
    return branches;
  }

  private static String ms(long nanos) {
    return String.format(Locale.ROOT, "%,d ms", nanos / 1_000_000);
  }
}
