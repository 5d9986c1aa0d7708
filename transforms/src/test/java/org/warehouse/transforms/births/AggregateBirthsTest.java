package org.warehouse.transforms.births;

import java.time.LocalDate;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.Row;
import org.junit.Rule;
import org.junit.Test;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * AggregateBirths + FormatAggregates on a handful of births whose expected rows are worked out by
 * hand below (DirectRunner: immutability and encodability checks on).
 */
public class AggregateBirthsTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final int N = BirthRecord.NULL;

  private static int day(String iso) {
    return (int) LocalDate.parse(iso).toEpochDay();
  }

  private Dimensions.Views dims() {
    PCollectionView<List<Row>> regions = p.apply("Regions", Create.of(
            Row.withSchema(Dimensions.REGION_SCHEMA).addValues(3, "Sudeste").build(),
            Row.withSchema(Dimensions.REGION_SCHEMA).addValues(5, "Centro-Oeste").build())
        .withCoder(RowCoder.of(Dimensions.REGION_SCHEMA))).apply("RegionsView", View.asList());
    PCollectionView<List<Row>> states = p.apply("States", Create.of(
            Row.withSchema(Dimensions.STATE_SCHEMA).addValues(35, "SP", "São Paulo", 3).build(),
            Row.withSchema(Dimensions.STATE_SCHEMA).addValues(53, "DF", "Distrito Federal", 5).build())
        .withCoder(RowCoder.of(Dimensions.STATE_SCHEMA))).apply("StatesView", View.asList());
    PCollectionView<List<Row>> municipalities = p.apply("Municipalities", Create.of(
            Row.withSchema(Dimensions.MUNICIPALITY_SCHEMA).addValues(3550308, 355030, "São Paulo", 35).build(),
            Row.withSchema(Dimensions.MUNICIPALITY_SCHEMA).addValues(5300108, 530010, "Brasília", 53).build())
        .withCoder(RowCoder.of(Dimensions.MUNICIPALITY_SCHEMA))).apply("MunicipalitiesView", View.asList());
    return new Dimensions.Views(regions, states, municipalities);
  }

  private PCollection<KV<String, String>> aggregate(BirthRecord... births) {
    Dimensions.Views views = dims();
    Map<AggTable, TableRef> dest = new EnumMap<>(AggTable.class);
    for (AggTable t : AggTable.values()) {
      dest.put(t, TableRef.of("public", t.tableName()));
    }
    return p.apply("Births", Create.of(List.of(births)).withCoder(BirthRecord.RecordCoder.of()))
        .apply("Aggregate", AggregateBirths.with(views))
        .apply("Format", FormatAggregates.into(dest, views));
  }

  private static PCollection<String> linesOf(PCollection<KV<String, String>> all, String table) {
    return all.apply("Only" + table, Filter.by((KV<String, String> kv) -> kv.getKey().equals(table)))
        .apply("Values" + table, org.apache.beam.sdk.transforms.Values.create());
  }

  @Test
  public void countsEveryMeasureAndAveragesNonNullWeights() {
    PCollection<KV<String, String>> out = aggregate(
        // sex, weight, weeks, age, delivery, prenatal, GESTACAO, CONSULTAS
        new BirthRecord(day("2020-02-29"), 355030, 2000001, 1, 2499, 36, 19, 2, 7, N, N),
        new BirthRecord(day("2020-02-29"), 355030, 2000001, 2, 2500, 37, 20, 1, 6, N, N),
        new BirthRecord(day("2020-03-01"), 355030, N, N, N, N, N, N, N, N, N));
    // weights 2499 and 2500 → avg 2499.5; the all-NULL birth counts only in total_births.
    PAssert.that(linesOf(out, "agg_yearly")).containsInAnyOrder("2020\t3\t1\t1\t1\t1\t1\t1\t1\t1\t2499.5");
    PAssert.that(linesOf(out, "agg_monthly")).containsInAnyOrder(
        "2020\t2\t2\t1\t1\t1\t1\t1\t1\t1\t1\t2499.5",
        "2020\t3\t1\t0\t0\t0\t0\t0\t0\t0\t0\t\\N");
    PAssert.that(linesOf(out, "agg_state_daily")).containsInAnyOrder(
        "35\tSP\tSão Paulo\t3\t2020-02-29\t2\t1\t1\t1\t1\t1\t1\t1\t1\t2499.5",
        "35\tSP\tSão Paulo\t3\t2020-03-01\t1\t0\t0\t0\t0\t0\t0\t0\t0\t\\N");
    PAssert.that(linesOf(out, "agg_municipality_yearly")).containsInAnyOrder(
        "3550308\tSão Paulo\t35\t2020\t3\t1\t1\t1\t1\t1\t1\t1\t1\t2499.5");
    PAssert.that(linesOf(out, "agg_cnes_yearly")).containsInAnyOrder(
        "2000001\t2020\t2\t1\t1\t1\t1\t1\t1\t1\t1\t2499.5");
    PAssert.that(linesOf(out, "agg_unmatched_municipality")).empty();
    p.run().waitUntilFinish();
  }

  @Test
  public void unknownCodesCountNationallyInTheirStateAndInTheUnmatchedList() {
    PCollection<KV<String, String>> out = aggregate(
        new BirthRecord(day("2019-12-31"), 350000, N, 1, 3000, 40, 30, 1, 8, N, N), // state 35 known
        new BirthRecord(day("2020-01-01"), 990000, N, 2, 3001, 40, 30, 1, 8, N, N), // no state 99
        new BirthRecord(day("2020-01-01"), N, N, 2, 3002, 40, 30, 1, 8, N, N)); // NULL → code 0
    PAssert.that(linesOf(out, "agg_yearly")).containsInAnyOrder(
        "2019\t1\t1\t0\t1\t0\t0\t0\t0\t1\t3000.0",
        "2020\t2\t0\t2\t2\t0\t0\t0\t0\t2\t3001.5");
    PAssert.that(linesOf(out, "agg_state_yearly")).containsInAnyOrder(
        "35\tSP\tSão Paulo\t3\t2019\t1\t1\t0\t1\t0\t0\t0\t0\t1\t3000.0");
    PAssert.that(linesOf(out, "agg_region_daily")).containsInAnyOrder(
        "3\tSudeste\t2019-12-31\t1\t1\t0\t1\t0\t0\t0\t0\t1\t3000.0");
    PAssert.that(linesOf(out, "agg_municipality_monthly")).empty();
    PAssert.that(linesOf(out, "agg_unmatched_municipality")).containsInAnyOrder(
        "350000\t2019\t1", "990000\t2020\t1", "0\t2020\t1");
    p.run().waitUntilFinish();
  }

  @Test
  public void categoriesCountOnlyWhereWeeksOrVisitsAreUnknown() {
    PCollection<KV<String, String>> out = aggregate(
        // weeks, visits, then GESTACAO and CONSULTAS; one year each so every line shows one birth
        category(2015, N, N, 4, 4), // only categories: preterm (4 = 32–36 weeks), adequate (4 = 7+)
        category(2016, 38, 6, 4, 4), // known weeks and visits win over disagreeing categories
        category(2017, 36, 7, 5, 3), // the same the other way round
        category(2018, N, N, 5, 3), // categories that are neither
        category(2019, N, N, 1, 1), // under 22 weeks; no visits
        category(2020, N, N, N, N), // nothing known: counts in neither
        category(2021, N, N, 9, 9)); // "ignored" codes, should a row carry them: counts in neither
    PAssert.that(linesOf(out, "agg_yearly")).containsInAnyOrder(
        "2015\t1\t0\t0\t0\t0\t0\t1\t0\t1\t\\N",
        "2016\t1\t0\t0\t0\t0\t0\t0\t0\t0\t\\N",
        "2017\t1\t0\t0\t0\t0\t0\t1\t0\t1\t\\N",
        "2018\t1\t0\t0\t0\t0\t0\t0\t0\t0\t\\N",
        "2019\t1\t0\t0\t0\t0\t0\t1\t0\t0\t\\N",
        "2020\t1\t0\t0\t0\t0\t0\t0\t0\t0\t\\N",
        "2021\t1\t0\t0\t0\t0\t0\t0\t0\t0\t\\N");
    p.run().waitUntilFinish();
  }

  private static BirthRecord category(int year, int weeks, int visits, int gestationCategory, int prenatalCategory) {
    return new BirthRecord(day(year + "-06-01"), 355030, N, N, N, weeks, N, N, visits, gestationCategory,
        prenatalCategory);
  }
}
