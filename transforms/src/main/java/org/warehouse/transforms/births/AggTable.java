package org.warehouse.transforms.births;

import java.util.ArrayList;
import java.util.List;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * The aggregate tables the pipeline writes: a geography grain × a time grain, each with the same
 * measures. Also the packed {@code long} key used between the pre-aggregation and the writer:
 * {@code table ordinal << 56 | geo code (32 bits) << 24 | time (24 bits)}.
 */
public enum AggTable {
  YEARLY("agg_yearly", Geo.NATIONAL, Grain.YEAR),
  MONTHLY("agg_monthly", Geo.NATIONAL, Grain.MONTH),
  REGION_YEARLY("agg_region_yearly", Geo.REGION, Grain.YEAR),
  REGION_MONTHLY("agg_region_monthly", Geo.REGION, Grain.MONTH),
  REGION_DAILY("agg_region_daily", Geo.REGION, Grain.DAY),
  STATE_YEARLY("agg_state_yearly", Geo.STATE, Grain.YEAR),
  STATE_MONTHLY("agg_state_monthly", Geo.STATE, Grain.MONTH),
  STATE_DAILY("agg_state_daily", Geo.STATE, Grain.DAY),
  MUNICIPALITY_YEARLY("agg_municipality_yearly", Geo.MUNICIPALITY, Grain.YEAR),
  MUNICIPALITY_MONTHLY("agg_municipality_monthly", Geo.MUNICIPALITY, Grain.MONTH),
  CNES_YEARLY("agg_cnes_yearly", Geo.CNES, Grain.YEAR),
  /** Births whose residence code matches no municipality: (code6, year) → total_births only. */
  UNMATCHED_MUNICIPALITY("agg_unmatched_municipality", Geo.UNMATCHED_CODE6, Grain.YEAR);

  /** Geography grains and their key columns. */
  public enum Geo {
    NATIONAL(List.of(), List.of()),
    REGION(List.of("region_code smallint NOT NULL", "region_name text NOT NULL"), List.of("region_code")),
    STATE(
        List.of("state_code smallint NOT NULL", "state_abbr text NOT NULL", "state_name text NOT NULL",
            "region_code smallint NOT NULL"),
        List.of("state_code")),
    MUNICIPALITY(
        List.of("municipality_code integer NOT NULL", "municipality_name text NOT NULL",
            "state_code smallint NOT NULL"),
        List.of("municipality_code")),
    CNES(List.of("cnes_code integer NOT NULL"), List.of("cnes_code")),
    UNMATCHED_CODE6(List.of("code6 integer NOT NULL"), List.of("code6"));

    final List<String> columns;
    final List<String> keyColumns;

    Geo(List<String> columns, List<String> keyColumns) {
      this.columns = columns;
      this.keyColumns = keyColumns;
    }
  }

  /** Time grains and their key columns. */
  public enum Grain {
    YEAR(List.of("year integer NOT NULL"), List.of("year")),
    MONTH(List.of("year integer NOT NULL", "month integer NOT NULL"), List.of("year", "month")),
    DAY(List.of("birth_date date NOT NULL"), List.of("birth_date"));

    final List<String> columns;
    final List<String> keyColumns;

    Grain(List<String> columns, List<String> keyColumns) {
      this.columns = columns;
      this.keyColumns = keyColumns;
    }
  }

  /** Measure columns, in the order of {@link Measures}'s counters. */
  public static final List<String> COUNT_MEASURES =
      List.of(
          "total_births",
          "male_births",
          "female_births",
          "vaginal_births",
          "cesarean_births",
          "low_birth_weight_births",
          "preterm_births",
          "teen_mother_births",
          "adequate_prenatal_births");

  public static final String AVG_WEIGHT = "avg_birth_weight_g";

  private static final int DAY_OFFSET = 1 << 22;

  private final String tableName;
  private final Geo geo;
  private final Grain grain;

  AggTable(String tableName, Geo geo, Grain grain) {
    this.tableName = tableName;
    this.geo = geo;
    this.grain = grain;
  }

  public String tableName() {
    return tableName;
  }

  public Geo geo() {
    return geo;
  }

  public Grain grain() {
    return grain;
  }

  /** The tables a dashboard reads (every one but the unmatched-codes list). */
  public static List<AggTable> measureTables() {
    List<AggTable> t = new ArrayList<>();
    for (AggTable a : values()) {
      if (a != UNMATCHED_MUNICIPALITY) {
        t.add(a);
      }
    }
    return t;
  }

  public List<String> keyColumns() {
    List<String> k = new ArrayList<>(geo.keyColumns);
    k.addAll(grain.keyColumns);
    return k;
  }

  /** All column names in table order. */
  public List<String> columnNames() {
    List<String> names = new ArrayList<>();
    for (String c : columnDefinitions()) {
      names.add(c.substring(0, c.indexOf(' ')));
    }
    return names;
  }

  private List<String> columnDefinitions() {
    List<String> cols = new ArrayList<>(geo.columns);
    cols.addAll(grain.columns);
    if (this == UNMATCHED_MUNICIPALITY) {
      cols.add("total_births bigint NOT NULL");
      return cols;
    }
    for (String m : COUNT_MEASURES) {
      cols.add(m + " bigint NOT NULL");
    }
    cols.add(AVG_WEIGHT + " numeric(6,1)");
    return cols;
  }

  public String createTableSql(TableRef t) {
    return "CREATE TABLE " + t.quoted() + " (" + String.join(", ", columnDefinitions()) + ")";
  }

  /** The primary key, named after the table it is created on ({@code <table>_pkey}). */
  public String primaryKeySql(TableRef t) {
    return "ALTER TABLE " + t.quoted() + " ADD CONSTRAINT " + Sql.quoteIdent(t.name() + "_pkey")
        + " PRIMARY KEY (" + String.join(", ", keyColumns()) + ")";
  }

  // ---- packed keys ----

  public long key(int geoCode, int time) {
    return ((long) ordinal() << 56) | ((geoCode & 0xFFFFFFFFL) << 24) | (time & 0xFFFFFFL);
  }

  public static AggTable tableOf(long key) {
    return values()[(int) (key >>> 56)];
  }

  public static int geoOf(long key) {
    return (int) ((key >>> 24) & 0xFFFFFFFFL);
  }

  public static int timeOf(long key) {
    return (int) (key & 0xFFFFFFL);
  }

  public static int yearTime(int year) {
    return year;
  }

  public static int monthTime(int year, int month) {
    return year * 16 + month;
  }

  public static int dayTime(int epochDay) {
    return epochDay + DAY_OFFSET;
  }

  public static int yearOfMonthTime(int time) {
    return time / 16;
  }

  public static int monthOfMonthTime(int time) {
    return time % 16;
  }

  public static int epochDayOfDayTime(int time) {
    return time - DAY_OFFSET;
  }
}
