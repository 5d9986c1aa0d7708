package org.warehouse.pipelines;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.transforms.datasus.DbfReader;
import org.warehouse.transforms.ingest.SinascCsvWriter;
import org.warehouse.transforms.ingest.SinascCsvWriter.Damage;
import org.warehouse.transforms.ingest.SinascLineParser;

/**
 * generate-csv --format=dbc against --format=csv of the same seed: every record that neither format
 * damaged holds the CSV line's values (read back through DbfReader), GESTACAO and CONSULTAS are the
 * categories of the CSV's weeks and visits, damaged records show their damage, deleted ones are skipped.
 */
public class GenerateDbcTest {
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  private static final List<String> SAME = List.of("CODESTAB", "CODMUNNASC", "IDADEMAE", "ESTCIVMAE", "CODMUNRES",
      "SEMAGESTAC", "PARTO", "CONSPRENAT", "DTNASC", "SEXO", "RACACOR", "PESO");

  private static final DateTimeFormatter DDMMYYYY =
      DateTimeFormatter.ofPattern("ddMMuuuu").withResolverStyle(ResolverStyle.STRICT);

  private static List<SinascCsvWriter.FileResult> generate(Path dir, String... extra) throws Exception {
    List<String> args = new java.util.ArrayList<>(List.of("--out=" + dir, "--births=3000", "--files=2",
        "--badRate=0.04", "--seed=5"));
    args.addAll(List.of(extra));
    return GenerateCsvPipeline.run(PipelineOptionsFactory.fromArgs(args.toArray(new String[0])).withValidation()
        .as(GenerateCsvPipeline.GenerateCsvOptions.class));
  }

  private static String gestacao(String weeks) {
    if (weeks.isEmpty() || weeks.equals("99")) {
      return "9";
    }
    int w = Integer.parseInt(weeks);
    return w < 22 ? "1" : w <= 27 ? "2" : w <= 31 ? "3" : w <= 36 ? "4" : w <= 41 ? "5" : "6";
  }

  private static String consultas(String visits) {
    if (visits.isEmpty() || visits.equals("99")) {
      return "9";
    }
    int v = Integer.parseInt(visits);
    return v == 0 ? "1" : v <= 3 ? "2" : v <= 6 ? "3" : "4";
  }

  private static boolean validDate(String s) {
    try {
      LocalDate.parse(s, DDMMYYYY);
      return true;
    } catch (DateTimeParseException e) {
      return false;
    }
  }

  @Test
  public void dbcRecordsHoldTheCsvValuesOfTheSameSeed() throws Exception {
    List<SinascCsvWriter.FileResult> csv = generate(tmp.newFolder("csv").toPath());
    List<SinascCsvWriter.FileResult> dbc = generate(tmp.newFolder("dbc").toPath(), "--format=dbc");
    assertThat(dbc.get(0).path.getFileName().toString(), equalTo("DNAC2015.dbc"));
    long compared = 0;
    int damagedSeen = 0;
    for (int k = 0; k < 2; k++) {
      SinascCsvWriter.FileResult c = csv.get(k);
      SinascCsvWriter.FileResult d = dbc.get(k);
      assertThat(d.lines, equalTo(c.lines));
      List<String> lines = Files.readAllLines(c.path, StandardCharsets.ISO_8859_1);
      List<String> header;
      try (CSVParser p = CSVParser.parse(lines.get(0), SinascLineParser.FORMAT)) {
        header = p.getRecords().get(0).toList();
      }
      long first = 3000L * k / 2 + 1;
      try (DbfReader r = DbfReader.open(d.path, null)) {
        assertThat(r.fields().size(), equalTo(61));
        for (String name : SinascLineParser.REQUIRED) {
          assertTrue(name, r.hasField(name));
        }
        long read = 0;
        while (r.next()) {
          read++;
          long rec = r.recordNumber();
          assertFalse(d.deleted.contains(rec));
          assertThat(r.field("CONTADOR"), equalTo(Long.toString(first + rec - 1)));
          Damage damage = d.damaged.get(rec);
          if (damage != null) {
            damagedSeen++;
            switch (damage) {
              case BAD_DATE: assertFalse(r.field("DTNASC"), validDate(r.field("DTNASC"))); break;
              case BAD_WEIGHT: assertFalse(r.field("PESO").matches("[0-9]+")); break;
              case UNKNOWN_CODE: assertTrue("7".equals(r.field("SEXO")) || "5".equals(r.field("PARTO"))); break;
              default: throw new AssertionError("unexpected damage " + damage);
            }
            continue;
          }
          assertTrue(validDate(r.field("DTNASC")));
          if (c.damaged.containsKey(rec + 1)) {
            continue;
          }
          CSVRecord line;
          try (CSVParser p = CSVParser.parse(lines.get((int) rec), SinascLineParser.FORMAT)) {
            line = p.getRecords().get(0);
          }
          for (String name : SAME) {
            String v = line.get(header.indexOf(name));
            assertThat(d.path.getFileName() + " record " + rec + " " + name, r.field(name),
                equalTo(v.isEmpty() ? null : v));
          }
          assertThat(r.field("GESTACAO"), equalTo(gestacao(line.get(header.indexOf("SEMAGESTAC")))));
          assertThat(r.field("CONSULTAS"), equalTo(consultas(line.get(header.indexOf("CONSPRENAT")))));
          compared++;
        }
        assertThat(r.deletedSkipped(), equalTo((long) d.deleted.size()));
        assertThat(read + r.deletedSkipped(), equalTo(d.lines));
      }
    }
    assertThat(compared, greaterThan(2600L));
    assertThat(damagedSeen, greaterThan(40));
    assertThat(dbc.stream().mapToLong(f -> f.deleted.size()).sum(), greaterThan(15L));
  }

  @Test
  public void dbcRefusesGzipAndUnknownFormats() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> generate(tmp.newFolder("g").toPath(), "--format=dbc", "--gzip=true"));
    assertThat(e.getMessage(), containsString("--gzip"));
    e = assertThrows(IllegalArgumentException.class, () -> generate(tmp.newFolder("x").toPath(), "--format=xml"));
    assertThat(e.getMessage(), containsString("--format"));
  }

  @Test
  public void theSameSeedWritesTheSameBytes() throws Exception {
    List<SinascCsvWriter.FileResult> a = generate(tmp.newFolder("a").toPath(), "--format=DBC");
    List<SinascCsvWriter.FileResult> b = generate(tmp.newFolder("b").toPath(), "--format=dbc");
    for (int k = 0; k < a.size(); k++) {
      assertThat(Files.mismatch(a.get(k).path, b.get(k).path), equalTo(-1L));
    }
    assertThat(Map.copyOf(a.get(0).damaged), equalTo(Map.copyOf(b.get(0).damaged)));
  }
}
