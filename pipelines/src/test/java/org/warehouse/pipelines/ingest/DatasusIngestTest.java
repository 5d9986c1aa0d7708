package org.warehouse.pipelines.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.is;
import static org.junit.Assert.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.junit.ClassRule;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.postgresql.PGConnection;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.datasus.DatasusFiles;
import org.warehouse.transforms.datasus.DbcInputStream;
import org.warehouse.transforms.jdbc.CopyText;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * The five real DATASUS files (layouts of 1996, 2005, 2010, 2019, 2022) through {@code ingest}: every
 * record loaded or rejected, and fact_births equal to an independent reading — the decoded DBF bytes
 * cut by plain fixed-width arithmetic from the header's field descriptors (not DbfReader), typed here
 * with the documented rules, compared in SQL (EXCEPT both ways) for every file.
 */
public class DatasusIngestTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final Pattern D1_2 = Pattern.compile("\\d{1,2}");

  /** One file's records as the test reads them: field name → value (trimmed) per record, deleted ones counted. */
  private record Decoded(List<Map<String, String>> records, List<String> rawRecords, List<Long> numbers,
      long declared, long deleted) {}

  /** Decodes a .dbc into its DBF bytes and cuts them by the header's descriptors, byte by byte. */
  private static Decoded decode(Path dbc) throws Exception {
    byte[] b;
    try (InputStream in = new DbcInputStream(Files.newInputStream(dbc), dbc.getFileName().toString())) {
      b = in.readAllBytes();
    }
    long declared = (b[4] & 0xFFL) | (b[5] & 0xFFL) << 8 | (b[6] & 0xFFL) << 16 | (b[7] & 0xFFL) << 24;
    int headerLength = (b[8] & 0xFF) | (b[9] & 0xFF) << 8;
    int recordLength = (b[10] & 0xFF) | (b[11] & 0xFF) << 8;
    List<String> names = new ArrayList<>();
    List<Integer> widths = new ArrayList<>();
    for (int at = 32; at + 32 <= headerLength && b[at] != 0x0D && b[at] != 0; at += 32) {
      int end = at;
      while (end < at + 11 && b[end] != 0) {
        end++;
      }
      names.add(new String(b, at, end - at, StandardCharsets.ISO_8859_1).trim().toUpperCase());
      widths.add(b[at + 16] & 0xFF);
    }
    List<Map<String, String>> records = new ArrayList<>();
    List<String> raw = new ArrayList<>();
    List<Long> numbers = new ArrayList<>();
    long deleted = 0;
    for (long n = 0; n < declared; n++) {
      int start = headerLength + (int) n * recordLength;
      if (b[start] == '*') {
        deleted++;
        continue;
      }
      Map<String, String> r = new HashMap<>();
      int off = start + 1;
      for (int f = 0; f < names.size(); f++) {
        r.putIfAbsent(names.get(f), new String(b, off, widths.get(f), StandardCharsets.ISO_8859_1).trim());
        off += widths.get(f);
      }
      records.add(r);
      raw.add(new String(b, start + 1, recordLength - 1, StandardCharsets.ISO_8859_1));
      numbers.add(n + 1);
    }
    return new Decoded(records, raw, numbers, declared, deleted);
  }

  /** The typed row (COPY text, fact_births' columns) of one record, or null when the rules reject it. */
  static String expectedRow(long birthId, Map<String, String> r) {
    String code = r.getOrDefault("CODMUNRES", "");
    String date = r.getOrDefault("DTNASC", "");
    if (!code.matches("\\d{6}|\\d{7}") || !date.matches("\\d{8}")) {
      return null;
    }
    LocalDate d;
    try {
      d = LocalDate.of(Integer.parseInt(date.substring(4)), Integer.parseInt(date.substring(2, 4)),
          Integer.parseInt(date.substring(0, 2)));
    } catch (DateTimeException e) {
      return null;
    }
    if (d.getYear() < 1900 || d.getYear() > 2100) {
      return null;
    }
    String cnes = r.getOrDefault("CODESTAB", "");
    String sex = r.getOrDefault("SEXO", "").toUpperCase();
    String weight = r.getOrDefault("PESO", "");
    String parto = r.getOrDefault("PARTO", "");
    String gest = r.getOrDefault("GESTACAO", "");
    String cons = r.getOrDefault("CONSULTAS", "");
    if (!cnes.matches("\\d{0,7}") || !sex.matches("[012MFI]?") || !weight.matches("\\d{0,4}")
        || !parto.matches("[129]?") || !gest.matches("[1-689]?") || !cons.matches("[1-489]?")) {
      return null;
    }
    Integer weeks = count(r.get("SEMAGESTAC"), false);
    Integer age = count(r.get("IDADEMAE"), true);
    Integer visits = count(r.get("CONSPRENAT"), false);
    if (weeks == BAD || age == BAD || visits == BAD) {
      return null;
    }
    Integer g = weight.isEmpty() ? null : Integer.valueOf(weight);
    Integer sexCode = sex.isEmpty() ? null : "1M".contains(sex) ? 1 : "2F".contains(sex) ? 2 : 0;
    int codeValue = Integer.parseInt(code);
    return new CopyText().add(birthId).add(d.toString()).add(code.length() == 7 ? codeValue / 10 : codeValue)
        .addNullable(cnes.isEmpty() ? null : Integer.valueOf(cnes)).addNullable(sexCode)
        .addNullable(g == null || g == 0 || g == 9999 ? null : g).addNullable(weeks).addNullable(age)
        .addNullable(parto.isEmpty() ? null : Integer.valueOf(parto)).addNullable(visits)
        .addNullable(gest.isEmpty() || gest.compareTo("8") >= 0 ? null : Integer.valueOf(gest))
        .addNullable(cons.isEmpty() || cons.compareTo("8") >= 0 ? null : Integer.valueOf(cons)).line();
  }

  private static final Integer BAD = Integer.valueOf(-12345);

  private static Integer count(String v, boolean zeroUnknown) {
    if (v == null || v.isEmpty()) {
      return null;
    }
    if (!D1_2.matcher(v).matches()) {
      return BAD;
    }
    int n = Integer.parseInt(v);
    return n == 99 || (zeroUnknown && n == 0) ? null : n;
  }

  @Test
  public void everyRealFileLoadsOrRejectsEachRecordAndEqualsAFixedWidthReadingOfItsBytes() throws Exception {
    String s = "s_datasus";
    Path dir = tmp.newFolder("datasus").toPath();
    for (DatasusFiles.RealFile f : DatasusFiles.FILES) {
      Files.copy(f.path(), dir.resolve(f.name()));
    }
    try (Connection c = DB.connect()) {
      Db.execute(c, "CREATE SCHEMA " + s);
      IngestPipeline.run(options(s, dir + "/DN*", "--maxRejectRatio=0.02"));
      Db.execute(c, "CREATE TABLE " + s + ".expected (LIKE " + s + ".fact_births)");
      Db.execute(c, "CREATE TABLE " + s + ".expected_rejects (file_name text, line_number bigint, raw_line text)");
      for (DatasusFiles.RealFile f : DatasusFiles.FILES) {
        Decoded d = decode(dir.resolve(f.name()));
        long fileId = Db.queryLong(c, "SELECT file_id FROM " + s + ".ingest_files WHERE file_name = '" + f.name() + "'");
        StringBuilder good = new StringBuilder();
        StringBuilder bad = new StringBuilder();
        for (int i = 0; i < d.records().size(); i++) {
          long number = d.numbers().get(i);
          String row = expectedRow(fileId * 1_000_000_000L + number, d.records().get(i));
          if (row != null) {
            good.append(row).append('\n');
          } else {
            bad.append(new CopyText().add(f.name()).add(number).add(d.rawRecords().get(i)).line()).append('\n');
          }
        }
        copy(c, s + ".expected", good);
        copy(c, s + ".expected_rejects", bad);
        long loaded = Db.queryLong(c, "SELECT rows_loaded FROM " + s + ".ingest_files WHERE file_name = '" + f.name() + "'");
        long rejected = Db.queryLong(c, "SELECT rows_rejected FROM " + s + ".ingest_files WHERE file_name = '"
            + f.name() + "'");
        assertThat(f.name() + " records in its header", d.declared(), is(f.records()));
        assertThat(f.name() + ": loaded + rejected = records - deleted", loaded + rejected, is(d.declared() - d.deleted()));
        assertThat(f.name() + " bronze rows", Db.queryLong(c, "SELECT count(*) FROM " + s + ".bronze_sinasc WHERE file_name = '"
            + f.name() + "'"), is(loaded + rejected));
      }
      String fact = "SELECT * FROM " + s + ".fact_births";
      String expected = "SELECT * FROM " + s + ".expected";
      assertThat("fact rows the fixed-width reading lacks", count(c, fact + " EXCEPT " + expected), is(0L));
      assertThat("fixed-width rows fact_births lacks", count(c, expected + " EXCEPT " + fact), is(0L));
      String rejects = "SELECT file_name, line_number::bigint, raw_line FROM " + s + ".ingest_rejects";
      String expectedRejects = "SELECT * FROM " + s + ".expected_rejects";
      assertThat("rejects the reading finds good", count(c, rejects + " EXCEPT " + expectedRejects), is(0L));
      assertThat("bad records not rejected", count(c, expectedRejects + " EXCEPT " + rejects), is(0L));
      assertThat("the 1990s and 2000s layouts fill the categories", Db.queryLong(c, "SELECT count(*) FROM " + s
          + ".fact_births WHERE gestation_category IS NOT NULL AND prenatal_category IS NOT NULL "
          + "AND gestational_weeks IS NULL AND birth_id / 1000000000 IN (SELECT file_id FROM " + s
          + ".ingest_files WHERE file_name IN ('DNAM1996.DBC', 'DNAP2005.dbc'))") > 30_000, is(true));
    }
  }

  /** A .dbc with one flipped byte in its compressed data fails its CRC32: refused whole, the other file loads. */
  @Test
  public void aDamagedDbcIsRefusedWholeNamingItAndTheOtherFileLoads() throws Exception {
    String s = "s_datasus_bad";
    Path dir = tmp.newFolder("datasus-bad").toPath();
    Files.copy(DatasusFiles.FILES.get(4).path(), dir.resolve("DNEX2022.dbc"));
    byte[] b = Files.readAllBytes(DatasusFiles.FILES.get(1).path());
    b[b.length / 2] ^= 0x10;
    Files.write(dir.resolve("DNAP2005.dbc"), b);
    try (Connection c = DB.connect()) {
      Db.execute(c, "CREATE SCHEMA " + s);
      WarehouseException e = assertThrows(WarehouseException.class,
          () -> IngestPipeline.run(options(s, dir + "/*.dbc")));
      assertThat(e.getMessage(), containsString("1 file(s) refused, none of their rows loaded: DNAP2005.dbc ("));
      assertThat(e.getMessage().lines().count(), is(1L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_files WHERE file_name = 'DNAP2005.dbc'"), is(0L));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".fact_births"), is(Db.queryLong(c,
          "SELECT rows_loaded FROM " + s + ".ingest_files WHERE file_name = 'DNEX2022.dbc'")));
      assertThat(Db.queryLong(c, "SELECT count(*) FROM " + s + ".ingest_rejects WHERE file_name = 'DNAP2005.dbc'"),
          is(0L));
    }
  }

  private static IngestPipeline.IngestOptions options(String schema, String input, String... extra) {
    List<String> args = new ArrayList<>(Arrays.asList(DB.connectionArgs()));
    args.addAll(List.of("--runner=DirectRunner", "--schema=" + schema, "--input=" + input));
    args.addAll(Arrays.asList(extra));
    return PipelineOptionsFactory.fromArgs(args.toArray(new String[0])).withValidation()
        .as(IngestPipeline.IngestOptions.class);
  }

  private static void copy(Connection c, String table, CharSequence rows) throws Exception {
    c.unwrap(PGConnection.class).getCopyAPI().copyIn("COPY " + table + " FROM STDIN",
        new ByteArrayInputStream(rows.toString().getBytes(StandardCharsets.UTF_8)));
  }

  private static long count(Connection c, String query) throws Exception {
    return Db.queryLong(c, "SELECT count(*) FROM (" + query + ") q");
  }
}
