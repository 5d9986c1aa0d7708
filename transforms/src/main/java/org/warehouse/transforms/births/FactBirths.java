package org.warehouse.transforms.births;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;
import org.warehouse.transforms.jdbc.TableRef;

/** The SINASC-like fact table's definition, shared by the generator, ingest and aggregate. */
public final class FactBirths {
  private FactBirths() {}

  public static final String DEFAULT_TABLE = "fact_births";

  /** Column → PostgreSQL type, in table order (the DDL is built from it; ingest's COPY binary needs it). */
  public static final Map<String, String> TYPES = types();

  /** Columns in table order. */
  public static final List<String> COLUMNS = List.copyOf(TYPES.keySet());

  /** Columns that are NOT NULL. */
  private static final Set<String> NOT_NULL = Set.of("birth_id", "birth_date");

  private static Map<String, String> types() {
    Map<String, String> t = new LinkedHashMap<>();
    t.put("birth_id", "bigint");
    t.put("birth_date", "date");
    t.put("residence_municipality_code", "integer");
    t.put("cnes_code", "integer");
    t.put("sex", "smallint");
    t.put("birth_weight_g", "smallint");
    t.put("gestational_weeks", "smallint");
    t.put("mother_age", "smallint");
    t.put("delivery_type", "smallint");
    t.put("prenatal_visits", "smallint");
    t.put("gestation_category", "smallint"); // DATASUS GESTACAO 1..6 (layouts before 2011); NULL unknown
    t.put("prenatal_category", "smallint"); // DATASUS CONSULTAS 1..4 (layouts before 2011); NULL unknown
    return Collections.unmodifiableMap(t);
  }

  /** DDL without the primary key (added after bulk loading, which is faster). */
  public static String createTableSql(TableRef t) {
    StringJoiner cols = new StringJoiner(", ", " (", ")");
    TYPES.forEach((c, type) -> cols.add(c + " " + type + (NOT_NULL.contains(c) ? " NOT NULL" : "")));
    return "CREATE TABLE " + t.quoted() + cols;
  }

  public static String primaryKeySql(TableRef t) {
    return "ALTER TABLE " + t.quoted() + " ADD PRIMARY KEY (birth_id)";
  }

  public static String commentSql(TableRef t) {
    return "COMMENT ON TABLE "
        + t.quoted()
        + " IS 'SINASC-like birth records: residence_municipality_code is the 6-digit DATASUS code; "
        + "sex 1 male 2 female 0 unknown; delivery_type 1 vaginal 2 cesarean 9 unknown'";
  }
}
