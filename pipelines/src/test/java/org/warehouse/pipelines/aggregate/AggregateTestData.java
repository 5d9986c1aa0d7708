package org.warehouse.pipelines.aggregate;

import java.sql.Connection;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.warehouse.pipelines.GeneratePipeline;
import org.warehouse.pipelines.LoadReferencePipeline;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/** Loads the reference dimensions, generated births and hand-written edge cases into a test database. */
final class AggregateTestData {
  private AggregateTestData() {}

  static String[] args(TestDatabase db, String runner, String... more) {
    String[] conn = db.connectionArgs();
    String[] base = runner.equals("flink")
        ? new String[] {"--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2"}
        : new String[] {"--runner=DirectRunner"};
    String[] all = new String[conn.length + base.length + more.length];
    System.arraycopy(conn, 0, all, 0, conn.length);
    System.arraycopy(base, 0, all, conn.length, base.length);
    System.arraycopy(more, 0, all, conn.length + base.length, more.length);
    return all;
  }

  static <T extends org.apache.beam.sdk.options.PipelineOptions> T options(Class<T> cls, String[] args) {
    return PipelineOptionsFactory.fromArgs(args).withValidation().as(cls);
  }

  static void loadReference(TestDatabase db) throws Exception {
    LoadReferencePipeline.run(options(LoadReferencePipeline.LoadReferenceOptions.class, args(db, "direct")));
  }

  static void generate(TestDatabase db, String runner, long births, long seed) throws Exception {
    GeneratePipeline.run(options(GeneratePipeline.GenerateOptions.class,
        args(db, runner, "--births=" + births, "--seed=" + seed)));
  }

  /**
   * Edge cases on top of generated rows: NULL in every nullable column, codes no municipality has
   * (state known xx0000, unused code of a real state, no state at all, 0, NULL, a 7-digit code),
   * Feb 29, Dec 31 / Jan 1, boundary values of every measure (2499/2500 g, 36/37 weeks, 19/20
   * years, 6/7 visits), sex 0, delivery 9, rows with only the gestation/prenatal categories or with
   * categories that disagree with the known weeks/visits, and a municipality whose name needs COPY escaping.
   */
  static void addEdgeCases(Connection c) throws Exception {
    long base = Db.queryLong(c, "SELECT coalesce(max(birth_id), 0) FROM fact_births");
    Db.execute(c, "INSERT INTO fact_births SELECT " + base + " + row_number() OVER (), * FROM (VALUES "
        + "('2016-02-29'::date, 355030, 2000001, 1::smallint, NULL::smallint, NULL::smallint, NULL::smallint, NULL::smallint, NULL::smallint),"
        + "('2020-02-29', 330455, NULL, NULL, 2499, 36, 19, 2, 6),"
        + "('2024-02-29', 330455, NULL, 2, 2500, 37, 20, 1, 7),"
        + "('2015-01-01', 350000, 2000002, 0, 3000, 40, 30, 9, 10),"
        + "('2024-12-31', 359999, 2000002, 1, 1000, 30, 15, 2, 0),"
        + "('2019-12-31', 990000, 2000003, 2, 3500, 39, 25, 1, 8),"
        + "('2020-01-01', 0, NULL, 1, 4000, 41, 35, 2, 12),"
        + "('2021-06-15', NULL, 2000004, 2, 2800, 38, 22, 1, 9),"
        + "('2022-03-10', 3550308, 2000005, 1, 3100, 39, 28, 2, 7),"
        + "('2023-07-07', 530010, NULL, NULL, NULL, NULL, NULL, NULL, NULL),"
        + "('2023-07-07', 530010, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        + ") v(birth_date, residence_municipality_code, cnes_code, sex, birth_weight_g, gestational_weeks, "
        + "mother_age, delivery_type, prenatal_visits)");
    // The categorical gestation and prenatal fields (older layouts): used only where weeks or visits are NULL.
    Db.execute(c, "INSERT INTO fact_births (birth_id, birth_date, residence_municipality_code, gestational_weeks, "
        + "prenatal_visits, gestation_category, prenatal_category) SELECT " + base + " + 100 + row_number() OVER (), * "
        + "FROM (VALUES ('2018-05-05'::date, 330455, NULL::smallint, NULL::smallint, 4::smallint, 4::smallint),"
        + "('2018-05-05', 330455, 38, 6, 4, 4), ('2018-05-05', 330455, 36, 7, 5, 3), ('2018-05-05', 330455, NULL, NULL, 5, 3),"
        + "('2018-05-05', 330455, NULL, NULL, 1, 1), ('2018-05-05', 350000, NULL, NULL, 9, 9)) v");
    // A name with a tab and a backslash must survive COPY text escaping (a real-looking rename).
    Db.execute(c, "UPDATE dim_ibge_id_municipalities SET municipality_name = 'Brasília\\\tDF' "
        + "WHERE municipality_code6 = 530010");
    Db.execute(c, "ANALYZE fact_births");
  }
}
