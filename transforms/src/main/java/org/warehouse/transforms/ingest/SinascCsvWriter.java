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
import java.util.zip.GZIPOutputStream;
import org.warehouse.transforms.births.BirthRecord;
import org.warehouse.transforms.births.SyntheticBirths;

/**
 * Writes SINASC-style CSV exports of {@link SyntheticBirths} rows (the same generator as {@code
 * scripts/run generate}): {@code ;}-delimited, a quoted header of SINASC column names, CRLF line
 * ends, CODESTAB/DTNASC and the (extra, non-SINASC) municipality name quoted, NULLs as empty values.
 * A fraction of the lines is damaged in one of the {@link Damage} ways, cycling through the kinds so
 * every kind appears once at least six lines are damaged.
 *
 * <p>Births are split over the files in contiguous birth_id ranges; file k holds ids
 * {@code births*k/files+1 .. births*(k+1)/files}, one line each (line 2 = first id).
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

  /** What one file holds. */
  public static final class FileResult {
    public final Path path;
    public final long lines; // data lines (without the header)
    public final TreeMap<Long, Damage> damaged = new TreeMap<>(); // line number -> damage

    FileResult(Path path, long lines) {
      this.path = path;
      this.lines = lines;
    }
  }

  public SinascCsvWriter(SyntheticBirths generator, Map<Integer, String> names, long births, int files,
      double badRate, long seed, Charset charset, boolean gzip, boolean bom) {
    if (births < 0 || files < 1 || badRate < 0 || badRate > 1) {
      throw new IllegalArgumentException("need births >= 0, files >= 1, 0 <= badRate <= 1");
    }
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
    return String.format("sinasc_%03d.csv", k) + (gzip ? ".gz" : "");
  }

  public FileResult write(Path dir, int k) throws IOException {
    long first = births * k / files + 1;
    long last = births * (k + 1) / files;
    Path path = dir.resolve(fileName(k));
    FileResult result = new FileResult(path, Math.max(0, last - first + 1));
    SplittableRandom r = new SplittableRandom(seed ^ (0xD1B54A32D192ED03L * (k + 1))).split();
    Path tmp = dir.resolve("." + fileName(k) + ".tmp");
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
      IOException[] failure = {null};
      if (last >= first) {
        for (int c = (int) ((first - 1) / SyntheticBirths.CHUNK); c <= (last - 1) / SyntheticBirths.CHUNK; c++) {
          generator.generateChunk(c, births, row -> {
            if (row.birthId < first || row.birthId > last || failure[0] != null) {
              return;
            }
            Damage d = null;
            if (badRate > 0 && r.nextDouble() < badRate) {
              d = Damage.values()[damagedCount[0]++ % Damage.values().length];
              result.damaged.put(row.birthId - first + 2, d);
            }
            sb.setLength(0);
            line(sb, row, d, r);
            try {
              w.write(sb.append("\r\n").toString());
            } catch (IOException e) {
              failure[0] = e;
            }
          });
        }
      }
      if (failure[0] != null) {
        throw failure[0];
      }
    }
    Files.move(tmp, path, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return result;
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

  private static String n(int v) {
    return v == BirthRecord.NULL ? "" : Integer.toString(v);
  }

  private static String q(String s) {
    return "\"" + s + "\"";
  }
}
