package org.warehouse.transforms.births;

import java.time.LocalDate;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.windowing.GlobalWindow;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Instant;

/**
 * Aggregates births into every {@link AggTable} in one pass.
 *
 * <p>Story: each worker folds its births into three fine-grained hash maps — (code6, month),
 * (state, day) and (CNES, year) — and at the end of its bundle rolls them up into all twelve
 * tables' keys (combiner lifting by hand: ~3 map updates per birth instead of 12, and a few
 * hundred thousand partial rows per worker instead of millions). The partials are grouped by
 * (table, shard) and merged per key inside each group: one shuffle, like {@code Combine.perKey},
 * but every group comes out as one bundle on every runner, so the COPY writer downstream sends a
 * few large COPYs instead of one per row (the DirectRunner makes one bundle per key after a
 * Combine).
 *
 * <p>Rules: a birth whose residence code matches no municipality still counts nationally, in its
 * state and region when the code's first two digits name a state, and in {@link
 * AggTable#UNMATCHED_MUNICIPALITY}. A NULL residence code is treated as code 0 (unmatched, no state).
 */
public class AggregateBirths extends PTransform<PCollection<BirthRecord>, PCollection<KV<Long, long[]>>> {
  private static final long serialVersionUID = 1L;

  private final Dimensions.Views dims;

  private AggregateBirths(Dimensions.Views dims) {
    this.dims = dims;
  }

  public static AggregateBirths with(Dimensions.Views dims) {
    return new AggregateBirths(dims);
  }

  @Override
  public PCollection<KV<Long, long[]>> expand(PCollection<BirthRecord> births) {
    KvCoder<Long, long[]> coder = KvCoder.of(VarLongCoder.of(), Measures.MeasuresCoder.of());
    return births
        .apply("PreAggregatePerWorker",
            ParDo.of(new PreAggregateFn(dims)).withSideInputs(dims.regions, dims.states, dims.municipalities))
        .setCoder(KvCoder.of(VarIntCoder.of(), coder))
        .apply("GroupByTableShard", GroupByKey.create())
        .apply("MergePartialsPerKey", ParDo.of(new MergeGroupFn()))
        .setCoder(coder);
  }

  /** Shards per table: spreads big tables over workers; few enough that each group is a big COPY. */
  static final int SHARDS_PER_TABLE = 8;

  static int shardOf(long key) {
    long h = key * 0x9E3779B97F4A7C15L;
    return AggTable.tableOf(key).ordinal() * SHARDS_PER_TABLE + (int) ((h >>> 40) % SHARDS_PER_TABLE);
  }

  /** Merges the workers' partials of each key in one (table, shard) group. */
  static class MergeGroupFn extends DoFn<KV<Integer, Iterable<KV<Long, long[]>>>, KV<Long, long[]>> {
    private static final long serialVersionUID = 1L;

    @ProcessElement
    public void process(@Element KV<Integer, Iterable<KV<Long, long[]>>> group, OutputReceiver<KV<Long, long[]>> out) {
      LongMeasuresMap merged = new LongMeasuresMap();
      for (KV<Long, long[]> partial : group.getValue()) {
        merged.merge(partial.getKey(), partial.getValue());
      }
      merged.forEach((key, m) -> out.output(KV.of(key, m)));
    }
  }

  /** Folds births into fine-grained maps; rolls them up to every table at the end of the bundle. */
  static class PreAggregateFn extends DoFn<BirthRecord, KV<Integer, KV<Long, long[]>>> {
    private static final long serialVersionUID = 1L;
    private final Counter births = Metrics.counter(AggregateBirths.class, "births");
    private final Counter unmatchedBirths = Metrics.counter(AggregateBirths.class, "unmatchedMunicipalityBirths");
    private final Counter partialRows = Metrics.counter(AggregateBirths.class, "partialRows");

    private final Dimensions.Views views;
    private transient Dimensions dims;
    private transient LongMeasuresMap byCode6Month;
    private transient LongMeasuresMap byStateDay;
    private transient LongMeasuresMap byCnesYear;
    private transient long bundleBirths;
    private transient int cachedDay;
    private transient int cachedMonthTime;

    PreAggregateFn(Dimensions.Views views) {
      this.views = views;
    }

    @StartBundle
    public void startBundle() {
      byCode6Month = new LongMeasuresMap(1 << 16);
      byStateDay = new LongMeasuresMap(1 << 14);
      byCnesYear = new LongMeasuresMap(1 << 14);
      bundleBirths = 0;
      cachedDay = Integer.MIN_VALUE;
    }

    @ProcessElement
    public void process(ProcessContext c) {
      if (dims == null) {
        dims = new Dimensions(c.sideInput(views.regions), c.sideInput(views.states), c.sideInput(views.municipalities));
      }
      BirthRecord b = c.element();
      bundleBirths++;
      int code6 = b.municipalityCode6 == BirthRecord.NULL ? 0 : b.municipalityCode6;
      int monthTime = monthTime(b.epochDay);
      Measures.add(byCode6Month.getOrCreate(pack(code6, monthTime)), b);
      Measures.add(byStateDay.getOrCreate(pack(dims.state(code6), b.epochDay)), b);
      if (b.cnesCode != BirthRecord.NULL) {
        Measures.add(byCnesYear.getOrCreate(pack(b.cnesCode, AggTable.yearOfMonthTime(monthTime))), b);
      }
    }

    private int monthTime(int epochDay) {
      if (epochDay != cachedDay) {
        LocalDate d = LocalDate.ofEpochDay(epochDay);
        cachedDay = epochDay;
        cachedMonthTime = AggTable.monthTime(d.getYear(), d.getMonthValue());
      }
      return cachedMonthTime;
    }

    private static long pack(int hi, int lo) {
      return ((long) hi << 32) | (lo & 0xFFFFFFFFL);
    }

    @FinishBundle
    public void finishBundle(FinishBundleContext c) {
      LongMeasuresMap out = new LongMeasuresMap(byCode6Month.size() * 2 + byStateDay.size() * 2 + byCnesYear.size());
      long[] unmatched = {0};
      byCode6Month.forEach((key, m) -> {
        int code6 = (int) (key >>> 32);
        int monthTime = (int) key;
        int year = AggTable.yearOfMonthTime(monthTime);
        int code7 = dims.code7(code6);
        int state = dims.state(code6);
        int region = dims.region(state);
        out.merge(AggTable.YEARLY.key(0, AggTable.yearTime(year)), m);
        out.merge(AggTable.MONTHLY.key(0, monthTime), m);
        if (region > 0) {
          out.merge(AggTable.REGION_YEARLY.key(region, year), m);
          out.merge(AggTable.REGION_MONTHLY.key(region, monthTime), m);
        }
        if (state > 0) {
          out.merge(AggTable.STATE_YEARLY.key(state, year), m);
          out.merge(AggTable.STATE_MONTHLY.key(state, monthTime), m);
        }
        if (code7 > 0) {
          out.merge(AggTable.MUNICIPALITY_YEARLY.key(code7, year), m);
          out.merge(AggTable.MUNICIPALITY_MONTHLY.key(code7, monthTime), m);
        } else {
          out.merge(AggTable.UNMATCHED_MUNICIPALITY.key(code6, year), m);
          unmatched[0] += m[Measures.TOTAL];
        }
      });
      byStateDay.forEach((key, m) -> {
        int state = (int) (key >>> 32);
        if (state > 0) {
          int day = AggTable.dayTime((int) key);
          out.merge(AggTable.STATE_DAILY.key(state, day), m);
          out.merge(AggTable.REGION_DAILY.key(dims.region(state), day), m);
        }
      });
      byCnesYear.forEach((key, m) -> out.merge(AggTable.CNES_YEARLY.key((int) (key >>> 32), (int) key), m));
      Instant now = Instant.now();
      out.forEach((key, m) -> c.output(KV.of(shardOf(key), KV.of(key, m)), now, GlobalWindow.INSTANCE));
      births.inc(bundleBirths);
      unmatchedBirths.inc(unmatched[0]);
      partialRows.inc(out.size());
      byCode6Month = null;
      byStateDay = null;
      byCnesYear = null;
    }
  }
}
