package org.warehouse.transforms.births;

import java.time.LocalDate;
import java.util.EnumMap;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.warehouse.transforms.jdbc.CopyText;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Turns aggregated keys and measures into COPY lines for each table, joining the names of regions,
 * states and municipalities from the dimension side inputs. Output: {@code KV<table, line>} for
 * {@link org.warehouse.transforms.jdbc.WriteByCopy}.
 */
public class FormatAggregates extends PTransform<PCollection<KV<Long, long[]>>, PCollection<KV<String, String>>> {
  private static final long serialVersionUID = 1L;

  private final EnumMap<AggTable, TableRef> destinations;
  private final Dimensions.Views dims;

  private FormatAggregates(Map<AggTable, TableRef> destinations, Dimensions.Views dims) {
    this.destinations = new EnumMap<>(destinations);
    this.dims = dims;
  }

  /** Writes each table's rows to the given (staging) table. */
  public static FormatAggregates into(Map<AggTable, TableRef> destinations, Dimensions.Views dims) {
    return new FormatAggregates(destinations, dims);
  }

  @Override
  public PCollection<KV<String, String>> expand(PCollection<KV<Long, long[]>> aggregates) {
    return aggregates
        .apply("JoinNamesToCopyLines",
            ParDo.of(new FormatFn(destinations, dims)).withSideInputs(dims.regions, dims.states, dims.municipalities))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of()));
  }

  static class FormatFn extends DoFn<KV<Long, long[]>, KV<String, String>> {
    private static final long serialVersionUID = 1L;
    private final EnumMap<AggTable, TableRef> destinations;
    private final Dimensions.Views views;
    private transient Dimensions dims;

    FormatFn(EnumMap<AggTable, TableRef> destinations, Dimensions.Views views) {
      this.destinations = destinations;
      this.views = views;
    }

    @ProcessElement
    public void process(ProcessContext c) {
      if (dims == null) {
        dims = new Dimensions(c.sideInput(views.regions), c.sideInput(views.states), c.sideInput(views.municipalities));
      }
      long key = c.element().getKey();
      long[] m = c.element().getValue();
      AggTable table = AggTable.tableOf(key);
      TableRef dest = destinations.get(table);
      if (dest == null) {
        return; // table not selected
      }
      c.output(KV.of(dest.toString(), line(table, AggTable.geoOf(key), AggTable.timeOf(key), m)));
    }

    String line(AggTable table, int geo, int time, long[] m) {
      CopyText t = new CopyText();
      switch (table.geo()) {
        case NATIONAL:
          break;
        case REGION:
          t.add(geo).add(dims.regionName(geo));
          break;
        case STATE:
          t.add(geo).add(dims.stateAbbr(geo)).add(dims.stateName(geo)).add(dims.region(geo));
          break;
        case MUNICIPALITY:
          t.add(geo).add(dims.municipalityName(geo)).add(dims.municipalityState(geo));
          break;
        case CNES:
        case UNMATCHED_CODE6:
          t.add(geo);
          break;
        default:
          throw new IllegalStateException("unknown grain " + table.geo());
      }
      switch (table.grain()) {
        case YEAR:
          t.add(time);
          break;
        case MONTH:
          t.add(AggTable.yearOfMonthTime(time)).add(AggTable.monthOfMonthTime(time));
          break;
        case DAY:
          t.addRaw(LocalDate.ofEpochDay(AggTable.epochDayOfDayTime(time)).toString());
          break;
        default:
          throw new IllegalStateException("unknown grain " + table.grain());
      }
      if (table == AggTable.UNMATCHED_MUNICIPALITY) {
        return t.add(m[Measures.TOTAL]).line();
      }
      for (int i = 0; i < AggTable.COUNT_MEASURES.size(); i++) {
        t.add(m[i]);
      }
      return t.addNullable(Measures.averageWeight(m)).line();
    }
  }
}
