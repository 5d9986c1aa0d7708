package org.warehouse.pipelines.promote;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.promote.PromotePlan.SourceTable;
import org.warehouse.pipelines.promote.targetdb.TargetTable;
import org.warehouse.transforms.jdbc.WarehouseException;

/** The plan without a database: selection by globs, categories, order, the printed list, decisions. */
public class PromotePlanTest {
  static List<SourceTable> catalog(String... names) {
    List<SourceTable> out = new ArrayList<>();
    for (String n : names) {
      out.add(new SourceTable(n, 10, 1000));
    }
    return out;
  }

  static List<String> selected(PromotePlan plan) {
    List<String> out = new ArrayList<>();
    for (PromotePlan.Table t : plan.tables()) {
      out.add(t.source().name());
    }
    return out;
  }

  @Test
  public void defaultGlobsSelectDimensionsThenAggregatesAndListTheRest() {
    PromotePlan plan = PromotePlan.Selection.of("public", "dim_*,agg_*", "fact_*,*_backup").apply(
        catalog("agg_monthly", "agg_big", "agg_monthly_backup", "dim_states", "dim_regions", "fact_births",
            "scratch", "agg_big__staging_ab12cd", "agg_big__staging"), "the source");

    assertThat(selected(plan), contains("dim_regions", "dim_states", "agg_big", "agg_monthly"));
    assertThat(plan.describe(), contains(
        "Found 4 tables to promote:",
        "  Fact tables (1, excluded): fact_births",
        "  Dimension tables (2): dim_regions, dim_states",
        "  Aggregate tables (2): agg_big, agg_monthly",
        "  Aggregate tables (1, excluded): agg_monthly_backup"));
  }

  @Test
  public void globsMatchWholeNamesWithStarAndQuestionMark() {
    PromotePlan plan = PromotePlan.Selection.of("public", " agg_?ear* , dim_a.c ", "")
        .apply(catalog("agg_yearly", "agg_xearly_2", "agg_years", "agg_monthly", "dim_abc", "x_agg_yearly"), "s");
    assertThat(selected(plan), contains("agg_xearly_2", "agg_yearly", "agg_years"));
  }

  @Test
  public void otherTablesComeAfterAggregatesAndFactsLast() {
    PromotePlan plan = PromotePlan.Selection.of("public", "*", "").apply(
        catalog("fact_b", "zz", "agg_a", "dim_c", "AGG_Upper"), "s");
    assertThat(selected(plan), contains("dim_c", "AGG_Upper", "agg_a", "zz", "fact_b"));
  }

  @Test
  public void noMatchNamesTheGlobsAndEmptyIncludeIsUsage() {
    WarehouseException e = assertThrows(WarehouseException.class, () -> PromotePlan.Selection.of("public",
        "nothing_*", "fact_*").apply(catalog("dim_a", "agg_b"), "jdbc:postgresql://h/db"));
    assertThat(e.getMessage(), equalTo("no table in schema public of jdbc:postgresql://h/db matches "
        + "--include=nothing_* without matching --exclude=fact_* (2 tables there): check --include, --exclude and --schema"));
    UsageException u = assertThrows(UsageException.class, () -> PromotePlan.Selection.of("public", " , ", ""));
    assertThat(u.getMessage(), containsString("--include is empty"));
    assertThrows(IllegalArgumentException.class, () -> PromotePlan.Selection.of("bad schema", "*", ""));
  }

  @Test
  public void aSelectedNameThatIsNoIdentifierSaysWhatToDo() {
    WarehouseException e = assertThrows(WarehouseException.class,
        () -> PromotePlan.Selection.of("public", "agg_*", "").apply(catalog("agg_ok", "agg_not ok"), "s"));
    assertThat(e.getMessage(), containsString("table public.agg_not ok cannot be promoted"));
    assertThat(e.getMessage(), containsString("exclude it with --exclude"));
  }

  @Test
  public void decisionsFollowWhatTheTargetHolds() {
    assertThat(PromotePlan.decide(TargetTable.absent(), false), equalTo(Action.CREATE));
    assertThat(PromotePlan.decide(new TargetTable(true, true, false, ""), true), equalTo(Action.UNCHANGED));
    assertThat(PromotePlan.decide(new TargetTable(true, true, true, ""), false), equalTo(Action.REPLACE));
    assertThat(PromotePlan.decide(new TargetTable(true, false, false, ""), false), equalTo(Action.REPLACE));
    assertThat(PromotePlan.decide(new TargetTable(true, false, true, ""), false), equalTo(Action.BLOCKED));
  }
}
