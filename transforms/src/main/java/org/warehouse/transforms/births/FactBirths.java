package org.warehouse.transforms.births;

import java.util.List;
import org.warehouse.transforms.jdbc.TableRef;

/** The SINASC-like fact table's definition, shared by the generator, ingest and aggregate. */
public final class FactBirths {
  private FactBirths() {}

  public static final String DEFAULT_TABLE = "fact_births";

  /** Columns in table order. */
  public static final List<String> COLUMNS =
      List.of(
          "birth_id",
          "birth_date",
          "residence_municipality_code",
          "cnes_code",
          "sex",
          "birth_weight_g",
          "gestational_weeks",
          "mother_age",
          "delivery_type",
          "prenatal_visits");

  /** DDL without the primary key (added after bulk loading, which is faster). */
  public static String createTableSql(TableRef t) {
    return "CREATE TABLE "
        + t.quoted()
        + " (birth_id bigint NOT NULL, birth_date date NOT NULL, residence_municipality_code integer, "
        + "cnes_code integer, sex smallint, birth_weight_g smallint, gestational_weeks smallint, "
        + "mother_age smallint, delivery_type smallint, prenatal_visits smallint)";
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
