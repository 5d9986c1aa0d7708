package org.warehouse.pipelines.repartition;

import java.time.LocalDate;

/** Kind of the partition column: how a month and a partition bound are written for it. */
public enum ColumnKind {
  DATE("date"),
  TIMESTAMP("timestamp without time zone"),
  TIMESTAMPTZ("timestamp with time zone");

  private final String type;

  ColumnKind(String type) {
    this.type = type;
  }

  /** The kind whose {@code format_type} is {@code type}, or null. */
  static ColumnKind of(String type) {
    for (ColumnKind k : values()) {
      if (k.type.equals(type)) {
        return k;
      }
    }
    return null;
  }

  /** The column's SQL type. */
  public String sqlType() {
    return type;
  }

  /** The first day of the value's month (timestamptz: in UTC), as a date. */
  public String month(String expr) {
    return this == TIMESTAMPTZ ? "date_trunc('month', (" + expr + ") AT TIME ZONE 'UTC')::date"
        : "date_trunc('month', (" + expr + ")::timestamp)::date";
  }

  /** A partition bound: midnight (UTC for timestamptz) of the day {@code d}. */
  public String bound(LocalDate d) {
    return "'" + d + (this == DATE ? "" : this == TIMESTAMP ? " 00:00:00" : " 00:00:00+00") + "'";
  }
}
