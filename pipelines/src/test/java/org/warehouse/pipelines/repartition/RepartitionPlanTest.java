package org.warehouse.pipelines.repartition;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.endsWith;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/** The plan and its SQL text, without a database: the shape of a table written out by hand. */
public class RepartitionPlanTest {
  private static final TableRef T = TableRef.of("wh", "facts");

  private static final FreeSpace UNCHECKED = FreeSpace.unchecked("pg_default", DiskSpace.NOT_ALLOWED);

  private static TableShape shape(RowKey key) {
    return shape(key, 1000, null);
  }

  private static TableShape shape(RowKey key, long totalBytes, String tablespace) {
    return new TableShape(T, "day", ColumnKind.DATE, 1, 1000, 10, "owner", null, List.of("id", "day", "v"),
        List.of(new UniqueKey("facts_pkey", true, true, List.of("id", "day"), true)), Map.of(), Map.of(),
        Map.of("wh.facts_id_seq", "id"), List.of(), key, totalBytes, tablespace);
  }

  private static RepartitionPlan plan(boolean online) {
    return plan(online, shape(new RowKey("facts_pkey", List.of("id"), List.of("bigint"))), UNCHECKED);
  }

  private static RepartitionPlan plan(boolean online, TableShape shape, FreeSpace free) {
    return new RepartitionPlan(shape, new RepartitionPlan.MonthSpan(LocalDate.of(2024, 11, 1),
        LocalDate.of(2025, 1, 1)), 2, online, "abc123", free);
  }

  @Test
  public void monthsRunFromTheFirstMonthWithRowsToTheLastPlusAhead() {
    assertThat(plan(true).months(), equalTo(List.of(LocalDate.of(2024, 11, 1), LocalDate.of(2024, 12, 1),
        LocalDate.of(2025, 1, 1), LocalDate.of(2025, 2, 1), LocalDate.of(2025, 3, 1))));
  }

  @Test
  public void aRowsPartitionIsItsMonthsElseTheDefault() {
    RepartitionPlan p = plan(true);
    assertThat(p.partitionOf(LocalDate.of(2024, 12, 1)), equalTo("facts_p2024_12"));
    assertThat(p.partitionOf(LocalDate.of(2025, 3, 1)), equalTo("facts_p2025_03"));
    assertThat("after the months ahead", p.partitionOf(LocalDate.of(2025, 4, 1)), equalTo("facts_pdefault"));
    assertThat("before the first month", p.partitionOf(LocalDate.of(2024, 10, 1)), equalTo("facts_pdefault"));
    assertThat("NULL", p.partitionOf(null), equalTo("facts_pdefault"));
  }

  @Test
  public void onlineNeedsAKeyAndSaysOfflineWorks() {
    RepartitionPlan.MonthSpan span = new RepartitionPlan.MonthSpan(LocalDate.of(2024, 1, 1), LocalDate.of(2024, 1, 1));
    WarehouseException e = assertThrows(WarehouseException.class,
        () -> new RepartitionPlan(shape(null), span, 0, true, "abc123", UNCHECKED));
    assertThat(e.getMessage(), containsString("wh.facts has no primary key and no unique key on NOT NULL columns"));
    assertThat(e.getMessage(), containsString("--offline=true"));
    assertThat("offline needs none", new RepartitionPlan(shape(null), span, 0, false, "abc123", UNCHECKED).months().size(),
        equalTo(1));
  }

  @Test
  public void aSpanOfCenturiesIsRefused() {
    RepartitionPlan.MonthSpan span = new RepartitionPlan.MonthSpan(LocalDate.of(1900, 1, 1), LocalDate.of(2024, 1, 1));
    WarehouseException e = assertThrows(WarehouseException.class,
        () -> new RepartitionPlan(shape(null), span, 0, false, "abc123", UNCHECKED));
    assertThat(e.getMessage(), containsString("more than 1200 monthly partitions"));
  }

  @Test
  public void workObjectsAreNamedPerRunAndTheCaptureTriggerForTheTable() {
    RepartitionPlan p = plan(true);
    assertThat(p.staging().toString(), equalTo("wh.facts__repartition_abc123"));
    assertThat(p.ledger().toString(), equalTo("wh.facts__repartition_ranges_abc123"));
    assertThat(p.changeLog().toString(), equalTo("wh.facts__repartition_log_abc123"));
    assertThat(RepartitionPlan.captureOf(T), equalTo("facts__repartition_capture"));
  }

  @Test
  public void theOnlineSwapDropsTheCaptureTriggerBeforeItsLogThenRenames() {
    List<String> online = new PartitionDdl(plan(true)).swapSql();
    assertThat(online.get(0), equalTo("DROP FUNCTION IF EXISTS \"wh\".\"facts__repartition_capture\"() CASCADE"));
    assertThat(online.get(1), equalTo("DROP TABLE IF EXISTS \"wh\".\"facts__repartition_log_abc123\""));
    assertThat(online.get(2), equalTo("ALTER TABLE \"wh\".\"facts\" RENAME TO \"facts_unpartitioned_backup\""));
    assertThat(online.get(online.size() - 1), equalTo("ALTER SEQUENCE wh.facts_id_seq OWNED BY \"wh\".\"facts\".\"id\""));
    List<String> offline = new PartitionDdl(plan(false)).swapSql();
    assertThat(offline.get(0), equalTo("ALTER TABLE \"wh\".\"facts\" RENAME TO \"facts_unpartitioned_backup\""));
  }

  @Test
  public void theCaptureTriggerOnlyInsertsKeysIntoTheLog() {
    ChangeCapture capture = new ChangeCapture(plan(true));
    String function = capture.createSql().get(2);
    assertThat(function, containsString("IF TG_OP <> 'INSERT' THEN INSERT INTO \"wh\".\"facts__repartition_log_abc123\" "
        + "(\"id\", \"__partition_value\") VALUES (OLD.\"id\", OLD.\"day\"); END IF;"));
    assertThat(function, containsString("IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (NEW.\"id\", NEW.\"day\") IS "
        + "DISTINCT FROM (OLD.\"id\", OLD.\"day\")) THEN INSERT INTO \"wh\".\"facts__repartition_log_abc123\" "
        + "(\"id\", \"__partition_value\") VALUES (NEW.\"id\", NEW.\"day\"); END IF; RETURN NULL;"));
    assertThat(function, containsString("IF TG_OP = 'TRUNCATE' THEN INSERT INTO \"wh\".\"facts__repartition_log_abc123\" "
        + "(round) VALUES (-1); RETURN NULL; END IF;"));
    assertThat(capture.triggerSql(), equalTo(List.of("CREATE TRIGGER \"facts__repartition_capture\" AFTER INSERT OR "
        + "UPDATE OR DELETE ON \"wh\".\"facts\" FOR EACH ROW EXECUTE FUNCTION \"wh\".\"facts__repartition_capture\"()",
        "CREATE TRIGGER \"facts__repartition_capture_truncate\" AFTER TRUNCATE ON \"wh\".\"facts\" FOR EACH STATEMENT "
        + "EXECUTE FUNCTION \"wh\".\"facts__repartition_capture\"()")));
  }

  @Test
  public void theWidenedKeyIsNamedInThePlan() {
    assertThat(plan(true).keyChanges(), equalTo(List.of("PRIMARY KEY facts_pkey (id) becomes (id, day): every unique "
        + "key of a partitioned table must include day")));
  }

  private static final long GIB = 1L << 30;

  @Test
  public void theCopyNeedsTheTableWithItsToastAndIndexesPlusTenPercent() {
    assertThat(RepartitionPlan.neededBytes(shape(null, 1000, null)), equalTo(1100L));
    assertThat(RepartitionPlan.neededBytes(shape(null, 5 * GIB, null)), equalTo(5_905_580_032L)); // 5 GiB x 1.1
  }

  @Test
  public void tooLittleFreeSpaceIsRefusedWithOneLineNamingTheTableBothFiguresAndTheWayOut() {
    TableShape big = shape(null, 5 * GIB, null); // needs 5.5 GiB
    FreeSpace small = new FreeSpace("pg_default", "/srv/pg/base", 3_328_599_654L, 0, null); // 3.1 GiB
    WarehouseException e = assertThrows(WarehouseException.class, () -> RepartitionPlan.refuseWithoutRoom(big, small));
    assertThat(e.getMessage(), equalTo("table wh.facts needs about 5.5 GB for its partitioned copy; tablespace "
        + "pg_default (/srv/pg/base) has 3.1 GB free. Free space or run with --checkDiskSpace=false if the figure is "
        + "wrong; nothing changed"));
    assertThrows("one byte short", WarehouseException.class, () -> RepartitionPlan.refuseWithoutRoom(big,
        new FreeSpace("pg_default", "/srv/pg/base", 5_905_580_031L, 0, null)));
  }

  @Test
  public void enoughFreeSpaceGoesOnAndThePlanShowsBothFigures() {
    TableShape big = shape(new RowKey("facts_pkey", List.of("id"), List.of("bigint")), 5 * GIB, null);
    FreeSpace exactly = new FreeSpace("pg_default", "/srv/pg/base", 5_905_580_032L, 0, null);
    RepartitionPlan.refuseWithoutRoom(big, exactly);
    RepartitionPlan.refuseWithoutRoom(big, new FreeSpace("pg_default", "/srv/pg/base", 5_905_580_000L, 32, null));
    assertThat(plan(true, big, exactly).diskSpace(), equalTo("needs about 5.5 GB (the table, its TOAST and indexes: "
        + "5.0 GB, + 10%); tablespace pg_default (/srv/pg/base) has 5.5 GB free"));
  }

  @Test
  public void unmeasuredFreeSpaceGoesOnAndThePlanSaysWhy() {
    TableShape huge = shape(new RowKey("facts_pkey", List.of("id"), List.of("bigint")), 1L << 50, null);
    RepartitionPlan.refuseWithoutRoom(huge, UNCHECKED);
    RepartitionPlan.refuseWithoutRoom(huge, FreeSpace.unchecked(null, "--checkDiskSpace=false"));
    assertThat(plan(true, huge, UNCHECKED).diskSpace(), containsString("; free disk space not checked (the role may "
        + "not run server programs)"));
  }

  @Test
  public void dfsDirectoryIsOneWordForTheShellWhateverItHolds() throws Exception {
    Path dir = Files.createTempDirectory("df it's $(touch pwned) `x`");
    try {
      Process p = new ProcessBuilder("sh", "-c", DiskSpace.dfCommand(dir.toString())).directory(dir.toFile())
          .redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(out, p.waitFor(), equalTo(0));
      assertThat("nothing ran", Files.exists(dir.resolve("pwned")), equalTo(false));
    } finally {
      Files.delete(dir);
    }
  }

  @Test
  public void theNewTableGoesToTheTablesOwnTablespace() {
    RowKey key = new RowKey("facts_pkey", List.of("id"), List.of("bigint"));
    assertThat(new PartitionDdl(plan(true, shape(key, 1, "fast disk"), UNCHECKED)).createSql().get(0),
        endsWith(" PARTITION BY RANGE (\"day\") TABLESPACE \"fast disk\""));
    assertThat(new PartitionDdl(plan(true, shape(key, 1, null), UNCHECKED)).createSql().get(0),
        endsWith(" PARTITION BY RANGE (\"day\")"));
  }
}
