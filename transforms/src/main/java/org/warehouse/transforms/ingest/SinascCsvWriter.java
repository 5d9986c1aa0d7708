package org.warehouse.transforms.ingest;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.zip.GZIPOutputStream;
import org.warehouse.transforms.births.BirthRecord;
import org.warehouse.transforms.births.SyntheticBirths;
import org.warehouse.transforms.datasus.DbcWriter;
import org.warehouse.transforms.datasus.SinascDbfLayout;

/**
 * Writes SINASC-style CSV exports of {@link SyntheticBirths} rows (the same generator as {@code
 * scripts/run generate}): {@code ;}-delimited, a quoted header of SINASC column names, CRLF line
 * ends, CODESTAB/DTNASC and the (extra, non-SINASC) municipality name quoted, NULLs as empty values.
 * A fraction of the lines is damaged in one of the {@link Damage} ways, cycling through the kinds so
 * every kind appears once at least six lines are damaged.
 *
 * <p>Births are split over the files in contiguous birth_id ranges; file k holds ids
 * {@code births*k/files+1 .. births*(k+1)/files}, one line each (line 2 = first id).
 *
 * <p>{@link Format#DBC} writes the same births as DATASUS .dbc files instead ({@code DNAC2015.dbc},
 * {@code DNAL2015.dbc}, ...: a state code and a year that only make the names unique): one record per
 * birth in the 61-field {@link SinascDbfLayout} (record 1 = first id), with GESTACAO and CONSULTAS
 * derived from the weeks and visits, CONTADOR = birth_id, and plausible constants in the fields ingest
 * does not read. Damage there cycles through BAD_DATE, BAD_WEIGHT, UNKNOWN_CODE and a record flagged
 * deleted (listed in {@link FileResult#deleted}, not in {@link FileResult#damaged}).
 */
public final class SinascCsvWriter {
  /** How a line is damaged. */
  public enum Damage {
    /** DTNASC like 31022020 (day 31 of a shorter month). */
    BAD_DATE,
    /** PESO not a number (3,250 / 3.2kg / NA). */
    BAD_WEIGHT,
    /** The last three fields are missing. */
    RAGGED_ROW,
    /** SEXO 7 or PARTO 5: a code outside SINASC's domain. */
    UNKNOWN_CODE,
    /** CODESTAB opens a quote it never closes. */
    UNBALANCED_QUOTE,
    /** The record is replaced by an empty line. */
    EMPTY_LINE
  }

  /** What the files are. */
  public enum Format {
    /** SINASC-style {@code ;}-delimited text. */
    CSV,
    /** DATASUS .dbc (PKWare DCL compressed DBF). */
    DBC
  }

  private static final String[] STATES = {"AC", "AL", "AM", "AP", "BA", "CE", "DF", "ES", "GO", "MA", "MG", "MS",
      "MT", "PA", "PB", "PE", "PI", "PR", "RJ", "RN", "RO", "RR", "RS", "SC", "SE", "SP", "TO"};

  /** The .dbc damage cycle; null = the record is flagged deleted. */
  private static final Damage[] DBC_DAMAGE = {Damage.BAD_DATE, Damage.BAD_WEIGHT, Damage.UNKNOWN_CODE, null};

  private static final String[] DBC_WEIGHTS = {"3,25", "3.2k", "NA", "abc"};

  /** Header of the generated files (SINASC names, plus NOMEMUNRES to carry accented text). */
  public static final List<String> HEADER = List.of("ORIGEM", "CODESTAB", "CODMUNNASC", "LOCNASC", "IDADEMAE",
      "ESTCIVMAE", "CODMUNRES", "NOMEMUNRES", "SEMAGESTAC", "PARTO", "CONSPRENAT", "DTNASC", "SEXO", "RACACOR",
      "PESO");

  private static final String[] WEIGHTS = {"3,250", "3.2kg", "NA", "abc"};
  private static final String[] SHORT_MONTHS = {"02", "04", "06", "09", "11"};

  private final SyntheticBirths generator;
  private final Map<Integer, String> names;
  private final long births;
  private final int files;
  private final double badRate;
  private final long seed;
  private final Charset charset;
  private final boolean gzip;
  private final boolean bom;
  private final Format format;

  /** What one file holds. */
  public static final class FileResult {
    public final Path path;
    public final long lines; // data lines (without the header); .dbc: records, deleted ones included
    public final TreeMap<Long, Damage> damaged = new TreeMap<>(); // line number (.dbc: record number) -> damage
    public final TreeSet<Long> deleted = new TreeSet<>(); // .dbc: record numbers flagged deleted

    FileResult(Path path, long lines) {
      this.path = path;
      this.lines = lines;
    }
  }

  public SinascCsvWriter(SyntheticBirths generator, Map<Integer, String> names, long births, int files,
      double badRate, long seed, Charset charset, boolean gzip, boolean bom) {
    this(generator, names, births, files, badRate, seed, charset, gzip, bom, Format.CSV);
  }

  /** With {@link Format#DBC}, gzip must be off and bom is ignored. */
  public SinascCsvWriter(SyntheticBirths generator, Map<Integer, String> names, long births, int files,
      double badRate, long seed, Charset charset, boolean gzip, boolean bom, Format format) {
    if (births < 0 || files < 1 || badRate < 0 || badRate > 1) {
      throw new IllegalArgumentException("need births >= 0, files >= 1, 0 <= badRate <= 1");
    }
    if (format == Format.DBC && gzip) {
      throw new IllegalArgumentException(".dbc files are compressed already: drop --gzip with --format=dbc");
    }
    this.format = format;
    this.generator = generator;
    this.names = names;
    this.births = births;
    this.files = files;
    this.badRate = badRate;
    this.seed = seed;
    this.charset = charset;
    this.gzip = gzip;
    this.bom = bom && StandardCharsets.UTF_8.equals(charset);
  }

  public String fileName(int k) {
    if (format == Format.DBC) {
      return String.format("DN%s%04d.dbc", STATES[k % STATES.length], 2015 + k / STATES.length);
    }
    return String.format("sinasc_%03d.csv", k) + (gzip ? ".gz" : "");
  }

  public FileResult write(Path dir, int k) throws IOException {
    long first = births * k / files + 1;
    long last = births * (k + 1) / files;
    Path path = dir.resolve(fileName(k));
    FileResult result = new FileResult(path, Math.max(0, last - first + 1));
    SplittableRandom r = new SplittableRandom(seed ^ (0xD1B54A32D192ED03L * (k + 1))).split();
    Path tmp = dir.resolve("." + fileName(k) + ".tmp");
    if (format == Format.DBC) {
      writeDbc(tmp, first, last, result, r);
      Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      return result;
    }
    try (OutputStream os = gzip ? new GZIPOutputStream(Files.newOutputStream(tmp), 1 << 16)
            : Files.newOutputStream(tmp);
        Writer w = new BufferedWriter(new OutputStreamWriter(os, charset), 1 << 16)) {
      if (bom) {
        w.write('\uFEFF');
      }
      StringBuilder sb = new StringBuilder(200);
      for (int i = 0; i < HEADER.size(); i++) {
        sb.append(i == 0 ? "" : ";").append('"').append(HEADER.get(i)).append('"');
      }
      w.write(sb.append("\r\n").toString());
      int[] damagedCount = {0};
      rows(first, last, row -> {
        Damage d = null;
        if (badRate > 0 && r.nextDouble() < badRate) {
          d = Damage.values()[damagedCount[0]++ % Damage.values().length];
          result.damaged.put(row.birthId - first + 2, d);
        }
        sb.setLength(0);
        line(sb, row, d, r);
        w.write(sb.append("\r\n").toString());
      });
    }
    Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return result;
  }

  /** Takes one generated row. */
  private interface RowSink {
    void accept(SyntheticBirths.Row row) throws IOException;
  }

  /** Gives the rows with birth_id first..last, in order. */
  private void rows(long first, long last, RowSink sink) throws IOException {
    IOException[] failure = {null};
    if (last < first) {
      return;
    }
    for (int c = (int) ((first - 1) / SyntheticBirths.CHUNK); c <= (last - 1) / SyntheticBirths.CHUNK; c++) {
      generator.generateChunk(c, births, row -> {
        if (row.birthId < first || row.birthId > last || failure[0] != null) {
          return;
        }
        try {
          sink.accept(row);
        } catch (IOException e) {
          failure[0] = e;
        }
      });
    }
    if (failure[0] != null) {
      throw failure[0];
    }
  }

  private void writeDbc(Path tmp, long first, long last, FileResult result, SplittableRandom r) throws IOException {
    String[] v = new String[SinascDbfLayout.FIELDS_2019.size()];
    int[] damagedCount = {0};
    try (DbcWriter w = DbcWriter.to(tmp, SinascDbfLayout.FIELDS_2019, result.lines).charset(charset).open()) {
      rows(first, last, row -> {
        long record = row.birthId - first + 1;
        Damage d = null;
        boolean deleted = false;
        if (badRate > 0 && r.nextDouble() < badRate) {
          d = DBC_DAMAGE[damagedCount[0]++ % DBC_DAMAGE.length];
          deleted = d == null;
          if (deleted) {
            result.deleted.add(record);
          } else {
            result.damaged.put(record, d);
          }
        }
        dbcRecord(v, row, d, r);
        w.write(deleted, v);
      });
    }
  }

  private void line(StringBuilder sb, SyntheticBirths.Row row, Damage d, SplittableRandom r) {
    if (d == Damage.EMPTY_LINE) {
      return;
    }
    LocalDate date = LocalDate.ofEpochDay(row.epochDay);
    String[] v = new String[HEADER.size()];
    v[0] = "1";
    v[1] = q(n(row.cnesCode));
    v[2] = n(row.municipalityCode6);
    v[3] = "1";
    v[4] = n(row.motherAge);
    v[5] = Integer.toString(1 + (int) (row.birthId % 5));
    v[6] = n(row.municipalityCode6);
    v[7] = q(names.getOrDefault(row.municipalityCode6, ""));
    v[8] = n(row.gestationalWeeks);
    v[9] = n(row.deliveryType);
    v[10] = n(row.prenatalVisits);
    v[11] = q(String.format("%02d%02d%04d", date.getDayOfMonth(), date.getMonthValue(), date.getYear()));
    v[12] = n(row.sex);
    v[13] = Integer.toString(1 + (int) (row.birthId % 5));
    v[14] = n(row.birthWeightG);
    int fields = v.length;
    if (d != null) {
      switch (d) {
        case BAD_DATE:
          v[11] = q("31" + SHORT_MONTHS[r.nextInt(SHORT_MONTHS.length)] + date.getYear());
          break;
        case BAD_WEIGHT:
          v[14] = WEIGHTS[r.nextInt(WEIGHTS.length)];
          break;
        case RAGGED_ROW:
          fields -= 3;
          break;
        case UNKNOWN_CODE:
          if (r.nextBoolean()) {
            v[12] = "7";
          } else {
            v[9] = "5";
          }
          break;
        case UNBALANCED_QUOTE:
          v[1] = "\"" + (row.cnesCode == BirthRecord.NULL ? "2000000" : n(row.cnesCode));
          break;
        default:
          break;
      }
    }
    for (int i = 0; i < fields; i++) {
      if (i > 0) {
        sb.append(';');
      }
      sb.append(v[i]);
    }
  }

  private static final int ORIGEM = SinascDbfLayout.index("ORIGEM");
  private static final int CODESTAB = SinascDbfLayout.index("CODESTAB");
  private static final int CODMUNNASC = SinascDbfLayout.index("CODMUNNASC");
  private static final int IDADEMAE = SinascDbfLayout.index("IDADEMAE");
  private static final int ESTCIVMAE = SinascDbfLayout.index("ESTCIVMAE");
  private static final int CODMUNRES = SinascDbfLayout.index("CODMUNRES");
  private static final int GESTACAO = SinascDbfLayout.index("GESTACAO");
  private static final int PARTO = SinascDbfLayout.index("PARTO");
  private static final int CONSULTAS = SinascDbfLayout.index("CONSULTAS");
  private static final int DTNASC = SinascDbfLayout.index("DTNASC");
  private static final int HORANASC = SinascDbfLayout.index("HORANASC");
  private static final int SEXO = SinascDbfLayout.index("SEXO");
  private static final int RACACOR = SinascDbfLayout.index("RACACOR");
  private static final int PESO = SinascDbfLayout.index("PESO");
  private static final int DTCADASTRO = SinascDbfLayout.index("DTCADASTRO");
  private static final int SEMAGESTAC = SinascDbfLayout.index("SEMAGESTAC");
  private static final int CONSPRENAT = SinascDbfLayout.index("CONSPRENAT");
  private static final int CONTADOR = SinascDbfLayout.index("CONTADOR");

  /** Values of the 2019 layout's fields that ingest does not read (constant, as in many real records). */
  private static final String[] DBC_CONSTANTS = constants();

  private static String[] constants() {
    String[] c = new String[SinascDbfLayout.FIELDS_2019.size()];
    String[][] pairs = {{"LOCNASC", "1"}, {"ESCMAE", "4"}, {"CODOCUPMAE", "999992"}, {"QTDFILVIVO", "01"},
        {"QTDFILMORT", "00"}, {"GRAVIDEZ", "1"}, {"APGAR1", "08"}, {"APGAR5", "09"}, {"IDANOMAL", "2"},
        {"VERSAOSIST", "3.2.01"}, {"NATURALMAE", "816"}, {"ESCMAE2010", "3"}, {"RACACORMAE", "4"},
        {"QTDGESTANT", "01"}, {"QTDPARTNOR", "01"}, {"QTDPARTCES", "00"}, {"TPMETESTIM", "2"}, {"MESPRENAT", "02"},
        {"TPAPRESENT", "1"}, {"STTRABPART", "2"}, {"STCESPARTO", "3"}, {"TPNASCASSI", "1"}, {"TPFUNCRESP", "2"},
        {"TPDOCRESP", "4"}, {"ESCMAEAGR1", "05"}, {"STDNEPIDEM", "1"}, {"STDNNOVA", "1"}, {"CODPAISRES", "1"},
        {"TPROBSON", "03"}, {"PARIDADE", "1"}, {"KOTELCHUCK", "5"}};
    for (String[] p : pairs) {
      c[SinascDbfLayout.index(p[0])] = p[1];
    }
    return c;
  }

  /** One .dbc record of the row (damaged as {@code d} says, when not null) into {@code v}. */
  private static void dbcRecord(String[] v, SyntheticBirths.Row row, Damage d, SplittableRandom r) {
    System.arraycopy(DBC_CONSTANTS, 0, v, 0, v.length);
    LocalDate date = LocalDate.ofEpochDay(row.epochDay);
    String dt = digits(date.getDayOfMonth() * 1_000_000 + date.getMonthValue() * 10_000 + date.getYear(), 8);
    v[ORIGEM] = "1";
    v[CODESTAB] = n(row.cnesCode);
    v[CODMUNNASC] = n(row.municipalityCode6);
    v[IDADEMAE] = n(row.motherAge);
    v[ESTCIVMAE] = Integer.toString(1 + (int) (row.birthId % 5));
    v[CODMUNRES] = n(row.municipalityCode6);
    v[GESTACAO] = gestacao(row.gestationalWeeks);
    v[PARTO] = n(row.deliveryType);
    v[CONSULTAS] = consultas(row.prenatalVisits);
    v[DTNASC] = dt;
    v[HORANASC] = digits((int) (row.birthId % 24 * 100 + row.birthId % 60), 4);
    v[SEXO] = n(row.sex);
    v[RACACOR] = Integer.toString(1 + (int) (row.birthId % 5));
    v[PESO] = n(row.birthWeightG);
    v[DTCADASTRO] = dt;
    v[SEMAGESTAC] = n(row.gestationalWeeks);
    v[CONSPRENAT] = n(row.prenatalVisits);
    v[CONTADOR] = Long.toString(row.birthId);
    if (d == Damage.BAD_DATE) {
      v[DTNASC] = "31" + SHORT_MONTHS[r.nextInt(SHORT_MONTHS.length)] + date.getYear();
    } else if (d == Damage.BAD_WEIGHT) {
      v[PESO] = DBC_WEIGHTS[r.nextInt(DBC_WEIGHTS.length)];
    } else if (d == Damage.UNKNOWN_CODE) {
      if (r.nextBoolean()) {
        v[SEXO] = "7";
      } else {
        v[PARTO] = "5";
      }
    }
  }

  /** v (>= 0) as exactly {@code width} decimal digits, zero-padded. */
  private static String digits(int v, int width) {
    char[] c = new char[width];
    for (int i = width - 1; i >= 0; i--, v /= 10) {
      c[i] = (char) ('0' + v % 10);
    }
    return new String(c);
  }

  /** SINASC's GESTACAO category of a week count: 1 <22, 2 22-27, 3 28-31, 4 32-36, 5 37-41, 6 42+, 9 unknown. */
  static String gestacao(int weeks) {
    if (weeks == BirthRecord.NULL) {
      return "9";
    }
    return weeks < 22 ? "1" : weeks < 28 ? "2" : weeks < 32 ? "3" : weeks < 37 ? "4" : weeks < 42 ? "5" : "6";
  }

  /** SINASC's CONSULTAS category of a visit count: 1 none, 2 1-3, 3 4-6, 4 7+, 9 unknown. */
  static String consultas(int visits) {
    if (visits == BirthRecord.NULL) {
      return "9";
    }
    return visits == 0 ? "1" : visits <= 3 ? "2" : visits <= 6 ? "3" : "4";
  }

  private static String n(int v) {
    return v == BirthRecord.NULL ? "" : Integer.toString(v);
  }

  private static String q(String s) {
    return "\"" + s + "\"";
  }
}
