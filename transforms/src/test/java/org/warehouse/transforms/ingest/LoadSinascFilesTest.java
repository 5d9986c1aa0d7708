package org.warehouse.transforms.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * The real ingest path, {@link LoadSinascFiles}, on the DirectRunner into PostgreSQL: typed fact rows
 * (COPY binary), bronze rows (file_id, line, raw fields), the dead letters (raw text + reason naming
 * the column or "row:"), ledger and summaries, each table compared in SQL (EXCEPT ALL both ways) with
 * the rows written out by hand from the input lines below; a file over maxRejectRatio and a file with
 * a header lacking columns leave nothing but their summary row.
 */
public class LoadSinascFilesTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final transient TemporaryFolder tmp = new TemporaryFolder();

  private static final String HEADER = "\"CODESTAB\";\"CODMUNRES\";\"NOME\";\"DTNASC\";\"SEXO\";\"PESO\";\"SEMAGESTAC\";"
      + "\"IDADEMAE\";\"PARTO\";\"CONSPRENAT\"";
  private static final String[] A = {
    HEADER,
    "\"2077485\";355030;\"São Paulo\";\"15032020\";1;3250;39;28;2;8", // line 2 good
    "\"2077485\";355030;\"São Paulo\";\"31022020\";1;3250;39;28;2;8", // 3 bad date
    "", // 4 empty
    ";530010;\"Brasília\";\"01012019\";0;;99;;9;", // 5 good with NULLs
    "\"2077485;355030;\"Açu\";\"15032020\";1;3250;39;28;2;8", // 6 unbalanced quote
  };
  private static final String[] B = {
    HEADER,
    "\"1\";2408003;\"Mossoró\";\"29022024\";2;abc;39;28;2;8", // 2 bad weight
    "\"1\";2408003;\"Mossoró\";\"29022024\";2;2999;39;28;1;15", // 3 good (7-digit code)
  };

  /** a.csv (Latin-1, CRLF) and b.csv.gz (gzipped UTF-8 with a BOM, LF); returns their SHA-256. */
  private Map<String, String> writeFiles() throws Exception {
    Path fa = tmp.getRoot().toPath().resolve("a.csv");
    Files.write(fa, (String.join("\r\n", A) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    Path fb = tmp.getRoot().toPath().resolve("b.csv.gz");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream gz = new GZIPOutputStream(bytes)) {
      gz.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
      gz.write((String.join("\n", B) + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Files.write(fb, bytes.toByteArray());
    return Map.of("a.csv", sha256(fa), "b.csv.gz", sha256(fb));
  }

  private static String sha256(Path f) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f)));
  }

  private static void createTables(Connection c, String s) throws Exception {
    Db.execute(c, "CREATE SCHEMA " + s);
    TableRef fact = TableRef.of(s, "fact_births");
    Db.execute(c, FactBirths.createTableSql(fact));
    Db.execute(c, FactBirths.primaryKeySql(fact));
    Db.execute(c, LoadSinascFiles.bronzeTableSql(TableRef.of(s, "bronze")));
    Db.execute(c, "CREATE TABLE " + s + ".rejects (file_name text NOT NULL, line_number integer NOT NULL, "
        + "raw_line text NOT NULL, reason text NOT NULL, PRIMARY KEY (file_name, line_number))");
    Db.execute(c, "CREATE TABLE " + s + ".ledger (file_id bigint PRIMARY KEY, file_name text NOT NULL UNIQUE, "
        + "sha256 text NOT NULL, bytes bigint NOT NULL, lines_read bigint NOT NULL, rows_loaded bigint NOT NULL, "
        + "rows_rejected bigint NOT NULL, loaded_at timestamptz NOT NULL, replaced_count integer NOT NULL DEFAULT 0)");
    Db.execute(c, "CREATE TABLE " + s + ".summaries (file_name text, file_id bigint, lines_read bigint, "
        + "rows_loaded bigint, rows_rejected bigint, sha256 text, error text, records_deleted bigint)");
  }

  private PipelineResult.State load(String s, String glob, double maxRejectRatio, Map<String, Long> ids,
      Map<String, String> shas) {
    Map<String, Long> bytes = Map.of("a.csv", 1L, "b.csv.gz", 2L, "bad.csv", 3L);
    Map<String, LoadSinascFiles.PlannedLoad> files = new java.util.HashMap<>();
    ids.forEach((name, id) -> files.put(name, new LoadSinascFiles.PlannedLoad(id, shas.get(name),
        bytes.getOrDefault(name, 0L), false)));
    LoadSinascFiles.Target target = new LoadSinascFiles.Target(DB.config(), s + ".fact_births", TableRef.of(s, "bronze"),
        s + ".rejects", s + ".ledger", s + ".summaries", new LoadSinascFiles.Rules("ISO-8859-1", maxRejectRatio,
        1 << 20, 60), files, (PublishGuard & java.io.Serializable) c -> { });
    p.apply("Match", FileIO.match().filepattern(glob))
        .apply("Read", FileIO.readMatches().withCompression(Compression.UNCOMPRESSED))
        .apply("Load", LoadSinascFiles.into(target));
    return p.run().waitUntilFinish();
  }

  /** Rows of {@code query} that {@code expected} (a VALUES list) lacks, plus the reverse (EXCEPT ALL). */
  private static long difference(Connection c, String query, String expected) throws Exception {
    return Db.queryLong(c, "SELECT (SELECT count(*) FROM ((" + query + ") EXCEPT ALL (" + expected + ")) x) "
        + "+ (SELECT count(*) FROM ((" + expected + ") EXCEPT ALL (" + query + ")) y)");
  }

  private static final String FACT = "SELECT birth_id, birth_date, residence_municipality_code, cnes_code, sex::int, "
      + "birth_weight_g::int, gestational_weeks::int, mother_age::int, delivery_type::int, prenatal_visits::int FROM ";

  @Test
  public void writesTypedRowsBronzeAndDeadLettersOfALatin1AndAGzippedUtf8File() throws Exception {
    String s = "t_load";
    Map<String, String> shas = writeFiles();
    try (Connection c = DB.connect()) {
      createTables(c, s);
      assertThat(load(s, tmp.getRoot() + "/*", 1.0, Map.of("a.csv", 7L, "b.csv.gz", 8L), shas),
          is(PipelineResult.State.DONE));
      assertThat("fact_births", difference(c, FACT + s + ".fact_births", "VALUES "
          + "(7000000002::bigint, date '2020-03-15', 355030, 2077485, 1, 3250, 39, 28, 2, 8), "
          + "(7000000005, date '2019-01-01', 530010, NULL, 0, NULL, NULL, NULL, 9, NULL), "
          + "(8000000003, date '2024-02-29', 240800, 1, 2, 2999, 39, 28, 1, 15)"), is(0L));
      assertThat("bronze: every line that split, raw", difference(c, "SELECT * FROM " + s + ".bronze", "VALUES "
          + "(7, 2, '355030', '15032020', '1', '3250', '39', '28', '2', '8', '2077485', NULL::text, NULL::text), "
          + "(7, 3, '355030', '31022020', '1', '3250', '39', '28', '2', '8', '2077485', NULL, NULL), "
          + "(7, 5, '530010', '01012019', '0', '', '99', '', '9', '', '', NULL, NULL), "
          + "(8, 2, '2408003', '29022024', '2', 'abc', '39', '28', '2', '8', '1', NULL, NULL), "
          + "(8, 3, '2408003', '29022024', '2', '2999', '39', '28', '1', '15', '1', NULL, NULL)"), is(0L));
      assertThat("rejects: raw text and reason", difference(c, "SELECT * FROM " + s + ".rejects", "VALUES "
          + "('a.csv', 3, " + Sql.literal(A[2]) + ", 'DTNASC: invalid date ''31022020'''), "
          + "('a.csv', 4, '', 'row: empty line'), "
          + "('a.csv', 6, " + Sql.literal(A[5]) + ", 'row: unbalanced or misplaced quote (Invalid character "
          + "between encapsulated token and delimiter at line: 1, position: 18)'), "
          + "('b.csv.gz', 2, " + Sql.literal(B[1]) + ", 'PESO: not a number ''abc''')"), is(0L));
      assertThat("ledger", difference(c, "SELECT file_id, file_name, sha256, lines_read, rows_loaded, rows_rejected "
          + "FROM " + s + ".ledger", "VALUES (7::bigint, 'a.csv', " + Sql.literal(shas.get("a.csv")) + ", 5::bigint, "
          + "2::bigint, 3::bigint), (8, 'b.csv.gz', " + Sql.literal(shas.get("b.csv.gz")) + ", 2, 1, 1)"), is(0L));
      assertThat("one summary per file, no error", difference(c, "SELECT file_name, lines_read, rows_loaded, "
          + "rows_rejected, error FROM " + s + ".summaries", "VALUES ('a.csv', 5::bigint, 2::bigint, 3::bigint, "
          + "NULL::text), ('b.csv.gz', 2, 1, 1, NULL)"), is(0L));
    }
  }

  @Test
  public void aFileOverMaxRejectRatioOrWithoutTheColumnsLeavesOnlyItsSummary() throws Exception {
    String s = "t_refuse";
    Map<String, String> shas = writeFiles();
    Files.writeString(tmp.getRoot().toPath().resolve("bad.csv"), "A;B\n1;2\n", StandardCharsets.ISO_8859_1);
    try (Connection c = DB.connect()) {
      createTables(c, s);
      // a.csv: 3 of 5 lines rejected (0.6 > 0.5): refused; b.csv.gz: 1 of 2 (0.5): loaded
      assertThat(load(s, tmp.getRoot() + "/*", 0.5, Map.of("a.csv", 7L, "b.csv.gz", 8L, "bad.csv", 9L), shas),
          is(PipelineResult.State.DONE));
      assertThat(difference(c, FACT + s + ".fact_births",
          "VALUES (8000000003::bigint, date '2024-02-29', 240800, 1, 2, 2999, 39, 28, 1, 15)"), is(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".bronze WHERE file_id <> 8"), is(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".rejects WHERE file_name <> 'b.csv.gz'"), is(0L));
      assertThat(difference(c, "SELECT file_name FROM " + s + ".ledger", "VALUES ('b.csv.gz')"), is(0L));
      try (Statement st = c.createStatement();
          ResultSet rs = st.executeQuery("SELECT file_name, error FROM " + s + ".summaries ORDER BY file_name")) {
        rs.next();
        assertThat(rs.getString(2), containsString("3 of 5 lines rejected (60.00% > --maxRejectRatio 50.00%); "
            + "top reasons: DTNASC: invalid date x1, row: empty line x1, row: unbalanced or misplaced quote x1"));
        rs.next();
        assertThat(rs.getString(1), is("b.csv.gz"));
        assertThat(rs.getString(2), nullValue());
        rs.next();
        assertThat(rs.getString(1), is("bad.csv"));
        assertThat(rs.getString(2), containsString("header lacks column(s) CODMUNRES, DTNASC"));
      }
    }
  }
}
