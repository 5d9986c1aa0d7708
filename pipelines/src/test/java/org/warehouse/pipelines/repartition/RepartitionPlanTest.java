package org.warehouse.pipelines.repartition;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertThrows;

import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import org.junit.Test;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/** The plan and its SQL text, without a database: the shape of a table written out by hand. */
public class RepartitionPlanTest {
  private static final TableRef T = TableRef.of("wh", "facts");

  private static TableShape shape(RowKey key) {
    return new TableShape(T, "day", ColumnKind.DATE, 1, 1000, 10, "owner", null, List.of("id", "day", "v"),
        List.of(new UniqueKey("facts_pkey", true, true, List.of("id", "day"), true)), Map.of(), Map.of(),
        Map.of("wh.facts_id_seq", "id"), List.of(), key);
  }

  private static RepartitionPlan plan(boolean online) {
    return new RepartitionPlan(shape(new RowKey("facts_pkey", List.of("id"), List.of("bigint"))),
        new RepartitionPlan.MonthSpan(LocalDate.of(2024, 11, 1), LocalDate.of(2025, 1, 1)), 2, online, "abc123");
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
        () -> new RepartitionPlan(shape(null), span, 0, true, "abc123"));
    assertThat(e.getMessage(), containsString("wh.facts has no primary key and no unique key on NOT NULL columns"));
    assertThat(e.getMessage(), containsString("--offline=true"));
    assertThat("offline needs none", new RepartitionPlan(shape(null), span, 0, false, "abc123").months().size(),
        equalTo(1));
  }

  @Test
  public void aSpanOfCenturiesIsRefused() {
    RepartitionPlan.MonthSpan span = new RepartitionPlan.MonthSpan(LocalDate.of(1900, 1, 1), LocalDate.of(2024, 1, 1));
    WarehouseException e = assertThrows(WarehouseException.class,
        () -> new RepartitionPlan(shape(null), span, 0, false, "abc123"));
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
    assertThat(capture.triggerSql(), equalTo("CREATE TRIGGER \"facts__repartition_capture\" AFTER INSERT OR UPDATE "
        + "OR DELETE ON \"wh\".\"facts\" FOR EACH ROW EXECUTE FUNCTION \"wh\".\"facts__repartition_capture\"()"));
  }

  @Test
  public void theWidenedKeyIsNamedInThePlan() {
    assertThat(plan(true).keyChanges(), equalTo(List.of("PRIMARY KEY facts_pkey (id) becomes (id, day): every unique "
        + "key of a partitioned table must include day")));
  }
}
