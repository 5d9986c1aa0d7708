package org.warehouse.pipelines.dedupe;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.Test;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.dedupe.DedupeCatalog.TableFacts;
import org.warehouse.pipelines.dedupe.DedupePlan.TableAction;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/** DedupePlan without a database: option checks (exit 2), per-table decisions from hand-made catalog facts. */
public class DedupePlanTest {
  private static final Map<String, String> COLUMNS = Map.of("id", "bigint", "a", "bigint", "b", "bigint",
      "synced_at", "timestamp with time zone");

  private static DedupePipeline.DedupeOptions options(String... args) {
    return PipelineOptionsFactory.fromArgs(args).as(DedupePipeline.DedupeOptions.class);
  }

  private static TableFacts facts(boolean constraint, boolean backup, String refs) {
    return new TableFacts(COLUMNS, constraint, backup, refs, true);
  }

  private static DedupePlan plan(DedupePipeline.DedupeOptions o, TableFacts... facts) {
    List<DedupeTarget> targets = List.of(DedupeTarget.of("s.t1", "a,b", "synced_at", "public"),
        DedupeTarget.of("s.t2", "a", "synced_at", "public"));
    Map<TableRef, TableFacts> m = new LinkedHashMap<>();
    for (int i = 0; i < targets.size(); i++) {
      m.put(targets.get(i).table(), facts[i]);
    }
    return DedupePlan.of(o, targets, m, 2, "abc123");
  }

  @Test
  public void badOptionsAreUsageErrorsBeforeAnythingHappens() {
    assertThat(assertThrows(UsageException.class, () -> DedupePlan.targets(options())).getMessage(),
        containsString("give either --config=FILE or --table"));
    assertThat(assertThrows(UsageException.class, () -> DedupePlan.targets(options("--table=s.t", "--config=x")))
        .getMessage(), containsString("give either"));
    assertThat(assertThrows(UsageException.class, () -> DedupePlan.targets(options("--table=s.t"))).getMessage(),
        equalTo("--table needs --naturalKey=col1,col2"));
    assertThat(assertThrows(UsageException.class, () -> DedupePlan.targets(options("--table=s.t", "--naturalKey=a",
        "--dryRun", "--rollback"))).getMessage(), equalTo("--dryRun and --rollback exclude each other"));
    assertThat(assertThrows(UsageException.class, () -> DedupePlan.targets(options("--table=s.t", "--naturalKey=a",
        "--lockTimeoutSeconds=0"))).getMessage(), equalTo("--lockTimeoutSeconds must be at least 1 (got 0)"));
    assertThat(assertThrows(UsageException.class, () -> DedupePlan.targets(options("--table=s.t", "--naturalKey=a",
        "--lockTimeoutSeconds=-1"))).getMessage(), equalTo("--lockTimeoutSeconds must be at least 1 (got -1)"));
    assertThat(assertThrows(UsageException.class, () -> DedupePlan.targets(options("--table=s.t", "--naturalKey=a",
        "--partitions=-3"))).getMessage(), equalTo("--partitions must be at least 0 (got -3)"));
    assertThat(DedupePlan.targets(options("--table=s.t", "--naturalKey=a, b", "--lockTimeoutSeconds=1")).get(0)
        .naturalKey(), equalTo(List.of("a", "b")));
  }

  @Test
  public void aTableWithItsConstraintIsLeftAloneAndTheOthersGetPerRunWorkTables() {
    DedupePlan p = plan(options("--table=x", "--partitions=3"), facts(true, true, null), facts(false, false, null));
    assertThat(p.mode(), equalTo(DedupePlan.Mode.DEDUPE));
    assertThat(p.tables().get(0).action(), equalTo(TableAction.ALREADY_UNIQUE));
    assertThat(p.tables().get(1).action(), equalTo(TableAction.DEDUPE));
    assertThat(p.toRead().size(), equalTo(1));
    assertThat(p.toRead().get(0).keepTable(), equalTo(TableRef.of("s", "t2__dedupe_keep_abc123")));
    assertThat(p.toRead().get(0).copyTable(), equalTo(TableRef.of("s", "t2__dedupe_copy_abc123")));
    assertThat(p.partitions(), equalTo(3));
    assertThat(plan(options(), facts(true, true, null), facts(true, true, null)).partitions(), equalTo(8));
    assertThat(plan(options(), facts(true, true, null), facts(true, true, null)).toRead().isEmpty(), equalTo(true));
  }

  @Test
  public void aLeftoverBackupOrACascadingForeignKeyIsRefusedOnlyWhenTheRunWouldChangeTheTable() {
    WarehouseException backup = assertThrows(WarehouseException.class,
        () -> plan(options(), facts(false, true, null), facts(false, false, null)));
    assertThat(backup.getMessage(), equalTo("table s.t1: backup s.t1_dedupe_backup of an earlier run exists but the "
        + "constraint t1_a_b_key does not: run dedupe --rollback first, or drop the backup"));
    WarehouseException fk = assertThrows(WarehouseException.class,
        () -> plan(options(), facts(false, false, null), facts(false, false, "r_fk on s.r")));
    assertThat(fk.getMessage(), containsString("table s.t2 is referenced by foreign key r_fk on s.r with ON DELETE"));
    // the same facts are fine for a rollback, a dry run, or a table whose constraint exists
    assertThat(plan(options("--rollback"), facts(false, true, null), facts(false, false, "r_fk on s.r")).mode(),
        equalTo(DedupePlan.Mode.ROLLBACK));
    assertThat(plan(options("--dryRun"), facts(false, true, null), facts(false, false, "r_fk on s.r")).mode(),
        equalTo(DedupePlan.Mode.DRY_RUN));
    assertThat(plan(options(), facts(true, true, null), facts(true, false, "r_fk on s.r")).toRead().size(), equalTo(0));
  }

  @Test
  public void aNonIntegerIdIsRefusedInEveryMode() {
    TableFacts textId = new TableFacts(Map.of("id", "text", "a", "bigint", "synced_at", "date"), false, false, null,
        true);
    WarehouseException e = assertThrows(WarehouseException.class,
        () -> plan(options("--dryRun"), facts(false, false, null), textId));
    assertThat(e.getMessage(), equalTo("table s.t2: column id is text, dedupe needs an integer surrogate id (ties and "
        + "the snapshot use it)"));
  }
}
