package org.warehouse.pipelines.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.Assert.assertThrows;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.Test;
import org.warehouse.pipelines.ingest.IngestPlan.Action;
import org.warehouse.pipelines.ingest.IngestPlan.InputFile;
import org.warehouse.pipelines.ingest.IngestPlan.LedgerEntry;
import org.warehouse.transforms.ingest.LoadSinascFiles;
import org.warehouse.transforms.jdbc.WarehouseException;

/** The plan alone, without a database: one action per file from the ledger and the hashes. */
public class IngestPlanTest {
  private static final Instant T = Instant.parse("2026-12-01T10:00:00Z");
  private static final String SHA_A = "a".repeat(64);
  private static final String SHA_B = "b".repeat(64);

  private static List<InputFile> inputs() {
    return IngestPlan.byName(List.of(new InputFile("/d/new2.csv", "new2.csv", 20),
        new InputFile("/d/same.csv", "same.csv", 10), new InputFile("/d/changed.dbc", "changed.dbc", 30),
        new InputFile("/d/new1.csv", "new1.csv", 40)));
  }

  private static final Map<String, LedgerEntry> LEDGER = Map.of("same.csv", new LedgerEntry(3, SHA_A, T),
      "changed.dbc", new LedgerEntry(5, SHA_A, T));
  private static final Map<String, String> NOW = Map.of("same.csv", SHA_A, "changed.dbc", SHA_B);

  private static Map<String, Action> actions(IngestPlan p) {
    return p.files().stream().collect(Collectors.toMap(IngestPlan.PlannedFile::name, IngestPlan.PlannedFile::action));
  }

  @Test
  public void newNamesLoadUnchangedSkipAndChangedReplaceWithReplace() {
    assertThat(IngestPlan.newNames(inputs(), LEDGER), is(2L));
    IngestPlan p = IngestPlan.of(inputs(), LEDGER, NOW, true, List.of(11L, 12L).iterator());
    assertThat(actions(p), equalTo(Map.of("new1.csv", Action.LOAD, "new2.csv", Action.LOAD, "same.csv", Action.SKIP,
        "changed.dbc", Action.REPLACE)));
    assertThat("sorted by name, new ids in that order", p.files().stream().map(f -> f.name() + "=" + f.fileId())
        .collect(Collectors.toList()), equalTo(List.of("changed.dbc=5", "new1.csv=11", "new2.csv=12", "same.csv=3")));
    assertThat(p.toRead().size(), is(3));
    p.requireNoRefusal();
    Map<String, LoadSinascFiles.PlannedLoad> loads = p.loads();
    assertThat(loads.keySet(), equalTo(java.util.Set.of("changed.dbc", "new1.csv", "new2.csv")));
    assertThat(loads.get("changed.dbc"), equalTo(new LoadSinascFiles.PlannedLoad(5, SHA_B, 30, true)));
    assertThat("a new file's hash comes from its worker", loads.get("new1.csv").sha256(), nullValue());
  }

  @Test
  public void aChangedFileWithoutReplaceIsRefusedAndTheRunLoadsNothing() {
    IngestPlan p = IngestPlan.of(inputs(), LEDGER, NOW, false, List.of(11L, 12L).iterator());
    assertThat(actions(p).get("changed.dbc"), is(Action.REFUSE));
    WarehouseException e = assertThrows(WarehouseException.class, p::requireNoRefusal);
    assertThat(e.getMessage(), containsString("changed.dbc (loaded on 2026-12-01T10:00:00Z with sha256 aaaaaaaaaaaa…, "
        + "now bbbbbbbbbbbb…)"));
    assertThat(e.getMessage(), containsString("pass --replace"));
  }

  @Test
  public void twoInputsWithOneNameAreAnError() {
    WarehouseException e = assertThrows(WarehouseException.class, () -> IngestPlan.byName(List.of(
        new InputFile("/a/x.csv", "x.csv", 1), new InputFile("/b/x.csv", "x.csv", 1))));
    assertThat(e.getMessage(), containsString("two input files share the name x.csv (/a/x.csv, /b/x.csv)"));
  }
}
