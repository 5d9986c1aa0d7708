package org.warehouse.pipelines.promote;

import java.util.Locale;

/** What kind of table a name denotes, by its prefix; declared in the order the table list prints them. */
public enum Category {
  FACT("Fact", 3),
  DIMENSION("Dimension", 0),
  AGGREGATE("Aggregate", 1),
  OTHER("Other", 2);

  private final String label;
  private final int promoteOrder;

  Category(String label, int promoteOrder) {
    this.label = label;
    this.promoteOrder = promoteOrder;
  }

  /** As printed: "Dimension tables (3): …". */
  public String label() {
    return label;
  }

  /** Position of the category's tables in the run: dimensions first, then aggregates, others, facts. */
  public int promoteOrder() {
    return promoteOrder;
  }

  /** {@code fact_} Fact, {@code dim_} Dimension, {@code agg_} Aggregate (any case), anything else Other. */
  public static Category of(String tableName) {
    String n = tableName.toLowerCase(Locale.ROOT);
    if (n.startsWith("fact_")) {
      return FACT;
    }
    if (n.startsWith("dim_")) {
      return DIMENSION;
    }
    return n.startsWith("agg_") ? AGGREGATE : OTHER;
  }
}
