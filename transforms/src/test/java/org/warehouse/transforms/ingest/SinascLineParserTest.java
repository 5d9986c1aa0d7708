package org.warehouse.transforms.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertThrows;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.warehouse.transforms.births.BirthRecord;

public class SinascLineParserTest {
  // a header in another order than the generator's, with lower case, quotes and a BOM
  private static final String HEADER =
      "\uFEFF\"dtnasc\";SEXO;\"CODMUNRES\";PESO;OUTRA;SEMAGESTAC;IDADEMAE;PARTO;CONSPRENAT;CODESTAB";
  private final SinascLineParser p = SinascLineParser.forHeader(HEADER);

  private SinascLineParser.Result parse(String line) {
    return p.parse(line, new SinascLineParser.Result());
  }

  @Test
  public void typesAGoodLineWithQuotesAndSevenDigitCode() {
    SinascLineParser.Result r = parse("\"29022020\";2;\"3550308\";3250;\"São; Paulo\";39;99;2;;\"2077485\"");
    assertThat(r.reason, nullValue());
    assertThat(r.typed[0], is((int) LocalDate.of(2020, 2, 29).toEpochDay()));
    assertThat(r.typed[1], is(355030)); // IBGE 7-digit code: check digit dropped
    assertThat(r.typed[2], is(2077485));
    assertThat(r.typed[3], is(2));
    assertThat(r.typed[4], is(3250));
    assertThat(r.typed[5], is(39));
    assertThat(r.typed[6], is(BirthRecord.NULL)); // 99 = ignored
    assertThat(r.typed[7], is(2));
    assertThat(r.typed[8], is(BirthRecord.NULL)); // empty
    assertThat(r.raw(0), equalTo("3550308")); // raw fields in COLUMNS order, quotes removed
    assertThat(r.raw(1), equalTo("29022020"));
  }

  @Test
  public void lettersForSexAreAccepted() {
    assertThat(parse("01012020;M;355030;;x;;;;;").typed[3], is(1));
    assertThat(parse("01012020;F;355030;;x;;;;;").typed[3], is(2));
    assertThat(parse("01012020;I;355030;;x;;;;;").typed[3], is(0));
  }

  @Test
  public void everyBadValueIsRejectedNamingItsColumn() {
    assertThat(parse("31022020;1;355030;3000;x;38;25;1;7;").reason, equalTo("DTNASC: invalid date '31022020'"));
    assertThat(parse("2020-01-01;1;355030;3000;x;38;25;1;7;").reason, startsWith("DTNASC: not a ddMMyyyy date"));
    assertThat(parse(";1;355030;3000;x;38;25;1;7;").reason, startsWith("DTNASC: missing"));
    assertThat(parse("01012020;1;35503;3000;x;38;25;1;7;").reason, startsWith("CODMUNRES: not a 6- or 7-digit"));
    assertThat(parse("01012020;1;;3000;x;38;25;1;7;").reason, startsWith("CODMUNRES: missing"));
    assertThat(parse("01012020;7;355030;3000;x;38;25;1;7;").reason, startsWith("SEXO: unknown code"));
    assertThat(parse("01012020;1;355030;3,2kg;x;38;25;1;7;").reason, equalTo("PESO: not a number '3,2kg'"));
    assertThat(parse("01012020;1;355030;12345;x;38;25;1;7;").reason, startsWith("PESO: out of range"));
    assertThat(parse("01012020;1;355030;3000;x;3x;25;1;7;").reason, startsWith("SEMAGESTAC: not a number"));
    assertThat(parse("01012020;1;355030;3000;x;38;250;1;7;").reason, startsWith("IDADEMAE: out of range"));
    assertThat(parse("01012020;1;355030;3000;x;38;25;5;7;").reason, startsWith("PARTO: unknown code"));
    assertThat(parse("01012020;1;355030;3000;x;38;25;1;-1;").reason, startsWith("CONSPRENAT: not a number"));
    assertThat(parse("01012020;1;355030;3000;x;38;25;1;7;ABC").reason, startsWith("CODESTAB: not a CNES code"));
  }

  @Test
  public void rowLevelProblemsAreRejected() {
    assertThat(parse("").reason, equalTo("row: empty line"));
    assertThat(parse("01012020;1;355030;3000;x;38;25").reason,
        equalTo("row: 7 fields, the header has 10 (missing PARTO, CONSPRENAT, CODESTAB)"));
    assertThat(parse("01012020;1;355030;3000;x;38;25;1;7;1;2").reason, startsWith("row: 11 fields"));
    assertThat(parse("01012020;1;\"355030;3000;x;38;25;1;7;1").reason, startsWith("row: unbalanced or misplaced quote"));
    assertThat(parse("01012020;1;\"355030\";3000;\"x;38;25;1;7;1").reason, startsWith("row: unbalanced"));
    assertThat(parse("01012020;1;355030;3000;x\uFFFD;38;25;1;7;").reason, containsString("encoding"));
  }

  @Test
  public void headerWithoutARequiredColumnIsAFileError() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SinascLineParser.forHeader("SEXO;IDADEMAE;PARTO;CONSPRENAT;CODESTAB;PESO"));
    assertThat(e.getMessage(), containsString("header lacks column(s) CODMUNRES, DTNASC"));
  }

  /** The other columns may be missing (older layouts): NULL, also in bronze (raw null). */
  @Test
  public void missingOptionalColumnsAreNull() {
    SinascLineParser.Result r = SinascLineParser.forHeader("DTNASC;CODMUNRES").parse("01012020;355030",
        new SinascLineParser.Result());
    assertThat(r.reason, nullValue());
    for (int i = 2; i < r.typed.length; i++) {
      assertThat("typed " + i, r.typed[i], is(BirthRecord.NULL));
    }
    assertThat(r.raw(SinascLineParser.PESO), nullValue());
    assertThat(r.raw(SinascLineParser.CODMUNRES), equalTo("355030"));
  }

  /**
   * DATASUS value rules: PESO 0/9999 and IDADEMAE 0/99 are unknown; GESTACAO 1..6 and CONSULTAS 1..4 are
   * kept, 8/9/blank are NULL, other codes rejected; a header without ';' but with ',' splits on ','.
   */
  @Test
  public void datasusUnknownsCategoriesAndCommaDelimitedExports() {
    SinascLineParser c = SinascLineParser.forHeader("\"CODMUNRES\",\"DTNASC\",\"PESO\",\"IDADEMAE\",\"GESTACAO\",\"CONSULTAS\"");
    SinascLineParser.Result r = c.parse("355030,01012020,0,0,6,4", new SinascLineParser.Result());
    assertThat(r.reason, nullValue());
    assertThat(r.typed[4], is(BirthRecord.NULL));
    assertThat(r.typed[6], is(BirthRecord.NULL));
    assertThat(r.typed[9], is(6));
    assertThat(r.typed[10], is(4));
    r = c.parse("\"355030\",\"01012020\",\"9999\",\"99\",\"9\",\"8\"", new SinascLineParser.Result());
    assertThat(r.reason, nullValue());
    assertThat(r.typed[4], is(BirthRecord.NULL));
    assertThat(r.typed[6], is(BirthRecord.NULL));
    assertThat(r.typed[9], is(BirthRecord.NULL));
    assertThat(r.typed[10], is(BirthRecord.NULL));
    assertThat(c.parse("355030,01012020,3000,20,7,1", new SinascLineParser.Result()).reason,
        startsWith("GESTACAO: unknown code"));
    assertThat(c.parse("355030,01012020,3000,20,1,5", new SinascLineParser.Result()).reason,
        startsWith("CONSULTAS: unknown code"));
    assertThat(c.parse("355030,01012020,3000,20,1", new SinascLineParser.Result()).reason,
        startsWith("row: 5 fields, the header has 6"));
  }

  @Test
  public void aLineTheFileWideSplitterFailsOnNeitherSwallowsNorChangesTheLinesAfterIt() {
    String good = "\"29022020\";2;\"3550308\";3250;\"São; Paulo\";39;99;2;;\"2077485\"";
    String[] lines = {good, "\"01012020\";1;\"355030\";3000;x;38;20;1;7;\"207", good,
        "\"01012020\";1;\"355030\";3000;\"a\"b;38;20;1;7;1", good, "01012020;1;355030", good,
        "\"01012020\";1;\"355030\";3000;\"multi", "line\";38;20;1;7;1", good};
    SinascLineParser shared = SinascLineParser.forHeader(HEADER); // one parser for the file, as ingest uses it
    for (String line : lines) {
      SinascLineParser.Result a = shared.parse(line, new SinascLineParser.Result());
      SinascLineParser.Result b = SinascLineParser.forHeader(HEADER).parse(line, new SinascLineParser.Result());
      assertThat(line, a.reason, equalTo(b.reason));
      assertThat(line, raw(a), equalTo(raw(b)));
      assertThat(line, java.util.Arrays.toString(a.typed), equalTo(java.util.Arrays.toString(b.typed)));
    }
    assertThat(shared.parse(lines[1], new SinascLineParser.Result()).reason, startsWith("row: unbalanced"));
    assertThat(shared.parse(good, new SinascLineParser.Result()).reason, nullValue());
  }

  /** The raw fields of a result, or null when the line did not split. */
  private static List<String> raw(SinascLineParser.Result r) {
    if (!r.split()) {
      return null;
    }
    List<String> l = new ArrayList<>();
    for (int i = 0; i < SinascLineParser.COLUMNS.size(); i++) {
      l.add(r.raw(i));
    }
    return l;
  }

  /**
   * The fast path (hand split + in-place typing) must give exactly what the Commons CSV path gives:
   * good lines and random mutations of them (quotes, delimiters, blanks, letters, digits, dropped or
   * doubled characters) through both, same reason, same raw fields, same typed values; and the fast
   * path must really be the one taking the good lines.
   */
  @Test
  public void theFastPathAgreesWithTheCommonsCsvPathOnMutatedLines() {
    agree(HEADER, ';', new String[] {
      "\"29022020\";2;\"3550308\";3250;\"São; Paulo\";39;99;2;;\"2077485\"",
      "01012019;M;355030;;x;;;;;",
      "\"15032020\";f;\"530010\";0999;\"\";00;17;9;08;\"1\"",
      " 31122000 ;i; 2408003 ; 1 ;a b;1; 99 ;1;99; 7 ",
      "28021999;1;355030;9999;\"x\";42;40;2;0;1234567",
    });
    // a comma-delimited export with the categorical DATASUS columns
    agree("CODMUNRES,DTNASC,GESTACAO,CONSULTAS,PESO,IDADEMAE", ',', new String[] {
      "355030,01012020,5,4,3250,25", "\"1300000\",\"31121996\",\"9\",\"8\",\"9999\",\"00\"", "530010,29022000,,,0,",
      " 355030 ,01012020,1,1,1,1", "355030,01012020,6,3,9998,99",
    });
  }

  private void agree(String header, char delimiter, String[] seeds) {
    SinascLineParser p = SinascLineParser.forHeader(header);
    char[] alphabet = {delimiter, '"', ' ', '\t', 'x', 'M', '0', '1', '9', '2', '6', '8', '\\', 'ç', '\uFFFD', '\0'};
    java.util.Random rnd = new java.util.Random(42);
    int fast = 0;
    int total = 0;
    for (int round = 0; round < 60000; round++) {
      StringBuilder sb = new StringBuilder(seeds[round % seeds.length]);
      int mutations = round < seeds.length ? 0 : 1 + rnd.nextInt(3);
      for (int m = 0; m < mutations && sb.length() > 0; m++) {
        int at = rnd.nextInt(sb.length());
        switch (rnd.nextInt(4)) {
          case 0: sb.insert(at, alphabet[rnd.nextInt(alphabet.length)]); break;
          case 1: sb.deleteCharAt(at); break;
          case 2: sb.setCharAt(at, alphabet[rnd.nextInt(alphabet.length)]); break;
          default: sb.insert(at, sb.charAt(at)); break;
        }
      }
      String line = sb.toString();
      SinascLineParser.Result a = p.parse(line, new SinascLineParser.Result());
      SinascLineParser.Result b = SinascLineParser.forHeader(header).parseCsv(line, new SinascLineParser.Result());
      assertThat(line, a.reason, equalTo(b.reason));
      assertThat(line, raw(a), equalTo(raw(b)));
      if (a.ok()) {
        assertThat(line, java.util.Arrays.toString(a.typed), equalTo(java.util.Arrays.toString(b.typed)));
      }
      total++;
      if (a.fast) {
        fast++;
      }
      if (round < seeds.length) {
        assertThat("seed " + round + " takes the fast path", a.fast, is(true));
      }
    }
    assertThat("many mutated lines still take the fast path: " + fast + " of " + total, fast > total / 10, is(true));
  }

  @Test
  public void epochDayAgreesWithJavaTimeOnEveryDayAndRefusesEveryImpossibleOne() {
    int days = 0;
    for (int y = 1900; y <= 2100; y++) {
      for (int m = 0; m <= 13; m++) {
        for (int d = 0; d <= 32; d++) {
          int expected;
          try {
            expected = (int) LocalDate.of(y, m, d).toEpochDay();
            days++;
          } catch (java.time.DateTimeException e) {
            expected = SinascLineParser.NO_DATE;
          }
          assertThat(y + "-" + m + "-" + d, SinascLineParser.epochDay(y, m, d), is(expected));
        }
      }
    }
    assertThat(days, is(73414)); // 1900-01-01 .. 2100-12-31
  }
}
