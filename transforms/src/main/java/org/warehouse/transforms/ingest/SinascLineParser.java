package org.warehouse.transforms.ingest;

import java.io.IOException;
import java.io.Reader;
import java.io.Serializable;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.time.DateTimeException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.warehouse.transforms.births.BirthRecord;

/**
 * Splits one physical line of a SINASC export with Commons CSV ({@code ;} or, when the header has no
 * {@code ;}, {@code ,} as delimiter; {@code "} quotes) — or takes one DBF record's fields — and types the
 * columns fact_births needs. Each line is parsed on its own: SINASC records never span lines, and an
 * unbalanced quote then costs that one line instead of swallowing the rest of the file.
 *
 * <p>Columns are found by name; only CODMUNRES and DTNASC must be there, a missing other column is NULL.
 * Typing rules (empty value = NULL unless the column is required):
 *
 * <ul>
 *   <li>CODMUNRES (required): 6 digits (DATASUS code), or 7 digits (IBGE code: the check digit is dropped).
 *   <li>DTNASC (required): ddMMyyyy, a real calendar date, year 1900..2100.
 *   <li>SEXO: 1 or M = male (1), 2 or F = female (2), 0 or I = ignored (0).
 *   <li>PESO: grams, 1..9998; 0 and 9999 (DATASUS: unknown) = NULL.
 *   <li>SEMAGESTAC, CONSPRENAT: 1–2 digits (weeks, visits); 99 (SINASC's "ignored") = NULL.
 *   <li>IDADEMAE: 1–2 digits (years); 0 and 99 = NULL.
 *   <li>PARTO: 1 vaginal, 2 cesarean, 9 ignored.
 *   <li>CODESTAB (CNES): 1..7 digits.
 *   <li>GESTACAO (weeks, categorical: 1 &lt;22, 2 22–27, 3 28–31, 4 32–36, 5 37–41, 6 42+) and CONSULTAS
 *       (prenatal visits: 1 none, 2 1–3, 3 4–6, 4 7+): the code; 9 (and 8, used for "not informed" in
 *       the 1990s layouts) = NULL.
 * </ul>
 *
 * A reason always starts with the column it is about ({@code "PESO: not a number '3,2kg'"}), or
 * with {@code "row: "} when the line as a whole cannot be split into the header's columns.
 */
public final class SinascLineParser implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The SINASC columns ingest reads, in bronze order (bronze keeps them as text). */
  public static final List<String> COLUMNS = List.of("CODMUNRES", "DTNASC", "SEXO", "PESO", "SEMAGESTAC", "IDADEMAE",
      "PARTO", "CONSPRENAT", "CODESTAB", "GESTACAO", "CONSULTAS");

  /** The columns a file must have (the others are NULL when missing). */
  public static final List<String> REQUIRED = List.of("CODMUNRES", "DTNASC");

  static final int CODMUNRES = 0;
  static final int DTNASC = 1;
  static final int SEXO = 2;
  static final int PESO = 3;
  static final int SEMAGESTAC = 4;
  static final int IDADEMAE = 5;
  static final int PARTO = 6;
  static final int CONSPRENAT = 7;
  static final int CODESTAB = 8;
  static final int GESTACAO = 9;
  static final int CONSULTAS = 10;

  /** The Commons CSV format of DATASUS's ';'-delimited exports. */
  public static final CSVFormat FORMAT = format(';');

  /** The Commons CSV format of SINASC exports with the given delimiter. */
  static CSVFormat format(char delimiter) {
    return CSVFormat.RFC4180.builder().setDelimiter(delimiter).setQuote('"').setRecordSeparator("\r\n").build();
  }

  private final List<String> header;
  private final int[] index; // COLUMNS[i] is at field index[i]; -1: not in the file
  private final char delimiter;
  private final CSVFormat format;

  /** The result of one line: either typed values (and the raw fields) or the reason it was rejected. */
  public static final class Result {
    /** The COLUMNS fields as text when split by the Commons CSV path (null: not in the file); see {@link #raw(int)}. */
    String[] raw;
    /** Fast path: the line's characters (the caller's array) and the trimmed range [from[i], to[i]) of each field. */
    char[] chars;
    final int[] from = new int[COLUMNS.size()];
    final int[] to = new int[COLUMNS.size()];
    /** Fast path: COLUMNS[i] is in the file. */
    final boolean[] present = new boolean[COLUMNS.size()];
    boolean fast;
    /**
     * fact_births columns birth_date (epoch day), code, cnes, sex, weight, weeks, age, delivery, prenatal,
     * gestation category, prenatal category.
     */
    public final int[] typed = new int[11];
    /** Null when the line is good. */
    public String reason;

    public boolean ok() {
      return reason == null;
    }

    /** True when the line split into the header's columns (its raw fields exist). */
    public boolean split() {
      return fast || raw != null;
    }

    /** COLUMNS field i as text (quotes removed, trimmed), null when the file lacks it; only when {@link #split()}. */
    public String raw(int i) {
      return fast ? (present[i] ? new String(chars, from[i], to[i] - from[i]) : null) : raw[i];
    }

    /** Appends COLUMNS field i in COPY text form (UTF-8, escaped; \\N when the file lacks it) without a String. */
    void appendRaw(CopyBuffer out, int i) {
      if (fast ? !present[i] : raw[i] == null) {
        out.ascii('\\');
        out.ascii('N');
      } else if (fast) {
        out.escaped(chars, from[i], to[i]);
      } else {
        out.escaped(raw[i].toCharArray(), 0, raw[i].length());
      }
    }
  }

  private SinascLineParser(List<String> header, int[] index, char delimiter) {
    this.header = header;
    this.index = index;
    this.delimiter = delimiter;
    this.format = format(delimiter);
  }

  /**
   * Reads the header line; a missing required column is a file-level error (the message names it).
   *
   * @throws IllegalArgumentException naming the missing columns
   */
  public static SinascLineParser forHeader(String headerLine) {
    String h = headerLine;
    if (!h.isEmpty() && h.charAt(0) == '\uFEFF') {
      h = h.substring(1);
    }
    char delimiter = h.indexOf(';') < 0 && h.indexOf(',') >= 0 ? ',' : ';'; // OpenDataSUS 2012 exports use ','
    List<String> names = new ArrayList<>();
    for (String f : split(h, format(delimiter))) {
      names.add(f.trim().toUpperCase(Locale.ROOT));
    }
    return new SinascLineParser(List.copyOf(names), columnIndex(names, String.join(String.valueOf(delimiter), names)),
        delimiter);
  }

  /** A parser for records whose fields (DBF columns) have these names, in record order. */
  public static SinascLineParser forFields(List<String> names) {
    return new SinascLineParser(List.copyOf(names), columnIndex(names, String.join(",", names)), ';');
  }

  /**
   * Where each of {@link #COLUMNS} is among {@code names} (-1: missing); a missing {@link #REQUIRED}
   * column is a file-level error naming it and {@code described} (the header).
   */
  public static int[] columnIndex(List<String> names, String described) {
    int[] index = new int[COLUMNS.size()];
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < COLUMNS.size(); i++) {
      index[i] = names.indexOf(COLUMNS.get(i));
      if (index[i] < 0 && REQUIRED.contains(COLUMNS.get(i))) {
        missing.add(COLUMNS.get(i));
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("header lacks column(s) " + String.join(", ", missing)
          + " (header: " + described + ")");
    }
    return index;
  }

  public List<String> header() {
    return header;
  }

  private static List<String> split(String line, CSVFormat format) {
    try (CSVParser p = CSVParser.parse(new StringReader(line), format)) {
      Iterator<CSVRecord> it = p.iterator();
      if (!it.hasNext()) {
        return List.of();
      }
      return it.next().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Feeds a long-lived {@link CSVParser} one physical line (plus its newline) at a time. A record
   * that asks for more than its line (a quote left open) gets an IOException instead of the next
   * line, so it can never swallow the lines after it.
   */
  private static final class LineFeeder extends Reader {
    private String line; // null once the line and its newline were served
    private int pos;

    void set(String l) {
      line = l;
      pos = 0;
    }

    @Override
    public int read(char[] buf, int off, int len) throws IOException {
      if (len == 0) {
        return 0;
      }
      if (line == null) {
        throw new IOException("the record does not end on its line");
      }
      int left = line.length() - pos;
      if (left >= len) {
        line.getChars(pos, pos + len, buf, off);
        pos += len;
        return len;
      }
      line.getChars(pos, line.length(), buf, off);
      buf[off + left] = '\n';
      line = null;
      return left + 1;
    }

    @Override
    public void close() {}
  }

  private transient LineFeeder feeder;
  private transient Iterator<CSVRecord> records;

  /**
   * Splits with one Commons CSV parser per file instead of one per line (building a parser costs far
   * more than splitting a line); null when that parser fails on the line (it is then discarded and
   * the caller splits the line on its own, which yields the usual reason).
   */
  private List<String> splitFast(String line) {
    try {
      if (records == null) {
        feeder = new LineFeeder();
        records = CSVParser.parse(feeder, format).iterator();
      }
      feeder.set(line);
      return records.next().toList();
    } catch (IOException | RuntimeException e) {
      records = null;
      return null;
    }
  }

  /**
   * Parses one data line into {@code r} (reused by the caller). A plain good line (every field either
   * unquoted without a quote character, or wholly quoted without one inside, and every value valid) is
   * split and typed in place, without Commons CSV and without a String per field; any other line goes
   * the Commons CSV way ({@link #parseCsv}), which also words every reason. Both give the same fields
   * and values for the lines the fast path accepts (SinascLineParserTest checks this on mutated lines).
   */
  public Result parse(String line, Result r) {
    char[] cs = line.toCharArray();
    return parse(cs, cs.length, line, r);
  }

  /**
   * {@link #parse(String, Result)} of the line {@code cs[0, len)}, which {@code r} refers to until the
   * next call (the caller must not change it before the raw fields are used).
   */
  Result parse(char[] cs, int len, Result r) {
    return parse(cs, len, null, r);
  }

  private Result parse(char[] cs, int len, String line, Result r) {
    r.raw = null;
    r.reason = null;
    r.fast = false;
    if (parseFast(cs, len, r)) {
      return r;
    }
    return parseCsv(line != null ? line : new String(cs, 0, len), r);
  }

  /** Field boundaries of the last fast split (per parser: one parser per file and thread). */
  private transient int[] starts;
  private transient int[] ends;

  /** The fast path: true when the line was split and typed completely; false = take the Commons CSV path. */
  private boolean parseFast(char[] cs, int len, Result r) {
    int n = header.size();
    if (starts == null) {
      starts = new int[n];
      ends = new int[n];
    }
    r.chars = cs;
    char delim = delimiter;
    // one pass: field boundaries; any quote that is not a whole-field quote, a NUL or U+FFFD → slow path
    int f = 0;
    int pos = 0;
    while (true) {
      if (f == n) {
        return false; // more fields than the header
      }
      int end;
      if (pos < len && cs[pos] == '"') {
        int close = pos + 1;
        while (close < len && cs[close] != '"') {
          char c = cs[close];
          if (c == '\0' || c == '\uFFFD') {
            return false;
          }
          close++;
        }
        if (close == len || (close + 1 < len && cs[close + 1] != delim)) {
          return false; // unbalanced, doubled or misplaced quote
        }
        starts[f] = pos + 1;
        ends[f] = close;
        end = close + 1;
      } else {
        end = pos;
        while (end < len) {
          char c = cs[end];
          if (c == delim) {
            break;
          }
          if (c == '"' || c == '\0' || c == '\uFFFD') {
            return false;
          }
          end++;
        }
        starts[f] = pos;
        ends[f] = end;
      }
      f++;
      if (end >= len) {
        break;
      }
      pos = end + 1; // past the delimiter
    }
    return f == n && typeFast(cs, starts, ends, r); // f < n: fewer fields than the header
  }

  /**
   * Types one record whose fields (in file order) are {@code cs[fieldFrom[k], fieldTo[k])}, e.g. a DBF
   * record decoded into {@code cs}: in place when every value is valid, else through the raw path, which
   * words the reason. {@code r} refers to {@code cs} until the next call.
   */
  public Result parseFields(char[] cs, int[] fieldFrom, int[] fieldTo, Result r) {
    r.raw = null;
    r.reason = null;
    r.fast = false;
    r.chars = cs;
    if (typeFast(cs, fieldFrom, fieldTo, r)) {
      return r;
    }
    String[] raw = new String[COLUMNS.size()];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = r.present[i] ? new String(cs, r.from[i], r.to[i] - r.from[i]) : null;
    }
    return typeRaw(raw, r);
  }

  /**
   * Trims the fields of COLUMNS into r.from/r.to and types them in place: true when every value is
   * valid (r.fast set), false when the raw path must word a reason. One of the two hot paths: kept in
   * one piece, column after column, so the JIT compiles it straight (a method per column measured slower).
   */
  private boolean typeFast(char[] cs, int[] fieldFrom, int[] fieldTo, Result r) {
    int[] from = r.from;
    int[] to = r.to;
    for (int i = 0; i < index.length; i++) {
      int k = index[i];
      r.present[i] = k >= 0;
      int a = k < 0 ? 0 : fieldFrom[k];
      int b = k < 0 ? 0 : fieldTo[k];
      while (a < b && cs[a] <= ' ') { // String.trim()
        a++;
      }
      while (b > a && cs[b - 1] <= ' ') {
        b--;
      }
      from[i] = a;
      to[i] = b;
    }
    int[] t = r.typed;
    // CODMUNRES: 6 or 7 digits
    int a = from[CODMUNRES];
    int w = to[CODMUNRES] - a;
    if ((w != 6 && w != 7) || !digits(cs, a, a + w)) {
      return false;
    }
    t[1] = w == 7 ? num(cs, a, a + 7) / 10 : num(cs, a, a + 6);
    // DTNASC: ddMMyyyy, 1900..2100, a real date
    a = from[DTNASC];
    if (to[DTNASC] - a != 8 || !digits(cs, a, a + 8)) {
      return false;
    }
    int day = num(cs, a, a + 2);
    int month = num(cs, a + 2, a + 4);
    int year = num(cs, a + 4, a + 8);
    if (year < 1900 || year > 2100 || (t[0] = epochDay(year, month, day)) == NO_DATE) {
      return false;
    }
    // CODESTAB: empty or 1..7 digits
    a = from[CODESTAB];
    w = to[CODESTAB] - a;
    if (w == 0) {
      t[2] = BirthRecord.NULL;
    } else if (w > 7 || !digits(cs, a, a + w)) {
      return false;
    } else {
      t[2] = num(cs, a, a + w);
    }
    // SEXO
    a = from[SEXO];
    w = to[SEXO] - a;
    if (w == 0) {
      t[3] = BirthRecord.NULL;
    } else if (w != 1) {
      return false;
    } else {
      switch (cs[a]) {
        case '1': case 'M': case 'm': t[3] = 1; break;
        case '2': case 'F': case 'f': t[3] = 2; break;
        case '0': case 'I': case 'i': t[3] = 0; break;
        default: return false;
      }
    }
    // PESO: empty or 1..4 digits; 0 and 9999 unknown
    a = from[PESO];
    w = to[PESO] - a;
    if (w == 0) {
      t[4] = BirthRecord.NULL;
    } else if (w > 4 || !digits(cs, a, a + w)) {
      return false;
    } else {
      int g = num(cs, a, a + w);
      t[4] = g == 0 || g == 9999 ? BirthRecord.NULL : g;
    }
    if ((t[5] = smallCountFast(cs, from[SEMAGESTAC], to[SEMAGESTAC], false)) == BAD
        || (t[6] = smallCountFast(cs, from[IDADEMAE], to[IDADEMAE], true)) == BAD
        || (t[8] = smallCountFast(cs, from[CONSPRENAT], to[CONSPRENAT], false)) == BAD
        || (t[9] = categoryFast(cs, from[GESTACAO], to[GESTACAO], '6')) == BAD
        || (t[10] = categoryFast(cs, from[CONSULTAS], to[CONSULTAS], '4')) == BAD) {
      return false;
    }
    // PARTO
    a = from[PARTO];
    w = to[PARTO] - a;
    if (w == 0) {
      t[7] = BirthRecord.NULL;
    } else if (w != 1) {
      return false;
    } else {
      char c = cs[a];
      if (c != '1' && c != '2' && c != '9') {
        return false;
      }
      t[7] = c - '0';
    }
    r.fast = true;
    return true;
  }

  private static final int BAD = Integer.MIN_VALUE + 1;

  /** {@link #epochDay}'s answer for a day that does not exist. */
  static final int NO_DATE = Integer.MIN_VALUE;

  private static final int[] MONTH_DAYS = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

  /**
   * Days since 1970-01-01 of the proleptic Gregorian date year-month-day (year ≥ 1), or {@link #NO_DATE}
   * when it does not exist (month 13, 30 February, 29 February 2100...). The same numbers as
   * {@code LocalDate.of(y, m, d).toEpochDay()} without its objects and checks, where a JFR profile put a
   * third of the fast path's samples (SinascLineParserTest compares the two over every day of 1900..2100).
   */
  static int epochDay(int year, int month, int day) {
    if (month < 1 || month > 12 || day < 1) {
      return NO_DATE;
    }
    boolean leap = (year & 3) == 0 && (year % 100 != 0 || year % 400 == 0);
    if (day > (month == 2 && leap ? 29 : MONTH_DAYS[month - 1])) {
      return NO_DATE;
    }
    // days from civil (H. Hinnant): years counted from March, so that February's length comes last
    int y = month <= 2 ? year - 1 : year;
    int era = y / 400;
    int yearOfEra = y - era * 400;
    int dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
    return era * 146097 + dayOfEra - 719468;
  }

  /** 1–2 digits; 99 and empty (and 0 when {@code zeroUnknown}) = NULL; anything else BAD (the raw path words it). */
  private static int smallCountFast(char[] s, int a, int b, boolean zeroUnknown) {
    int w = b - a;
    if (w == 0) {
      return BirthRecord.NULL;
    }
    if (w > 2 || !digits(s, a, b)) {
      return BAD;
    }
    int v = num(s, a, b);
    return v == 99 || (zeroUnknown && v == 0) ? BirthRecord.NULL : v;
  }

  /** One code character 1..max; empty, 8 and 9 = NULL; anything else BAD. */
  private static int categoryFast(char[] s, int a, int b, char max) {
    int w = b - a;
    if (w == 0) {
      return BirthRecord.NULL;
    }
    char c = s[a];
    if (w != 1 || c < '1' || (c > max && c != '8' && c != '9')) {
      return BAD;
    }
    return c >= '8' ? BirthRecord.NULL : c - '0';
  }

  private static boolean digits(char[] s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s[i];
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static int num(char[] s, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      n = n * 10 + (s[i] - '0');
    }
    return n;
  }

  /** Parses one data line with Commons CSV (the reference path; gives every reason). */
  Result parseCsv(String line, Result r) {
    r.raw = null;
    r.reason = null;
    r.fast = false;
    if (line.isBlank()) {
      r.reason = "row: empty line";
      return r;
    }
    if (line.indexOf('\0') >= 0) {
      r.reason = "row: contains a NUL byte (binary data?)";
      return r;
    }
    if (line.indexOf('\uFFFD') >= 0) {
      r.reason = "row: bytes that are not valid in the file's encoding (check --encoding)";
      return r;
    }
    List<String> fields = splitFast(line);
    if (fields == null) {
      try {
        fields = split(line, format); // on its own, as the file-wide parser could not split it: same reason as ever
      } catch (RuntimeException e) {
        r.reason = "row: unbalanced or misplaced quote (" + firstLine(e) + ")";
        return r;
      }
    }
    if (fields.size() != header.size()) {
      StringBuilder sb = new StringBuilder("row: ").append(fields.size()).append(" fields, the header has ")
          .append(header.size());
      if (fields.size() < header.size()) {
        sb.append(" (missing ").append(String.join(", ", header.subList(fields.size(), header.size()))).append(')');
      }
      r.reason = sb.toString();
      return r;
    }
    String[] raw = new String[COLUMNS.size()];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = index[i] < 0 ? null : fields.get(index[i]).trim();
    }
    return typeRaw(raw, r);
  }

  /**
   * Types the raw fields (null: column not in the file), wording the reason of the first bad one. The
   * other hot path (every rejected line, and every line of an unusual shape): kept in one piece, column
   * after column, in the same order as {@link #typeFast}, so that the two read side by side.
   */
  private Result typeRaw(String[] raw, Result r) {
    r.raw = raw;
    r.fast = false;
    int[] t = r.typed;
    // CODMUNRES
    String v = value(raw, CODMUNRES);
    if (v.isEmpty()) {
      return reject(r, CODMUNRES, "missing", v);
    }
    if (!digits(v) || (v.length() != 6 && v.length() != 7)) {
      return reject(r, CODMUNRES, "not a 6- or 7-digit municipality code", v);
    }
    t[1] = v.length() == 7 ? num(v, 0, 7) / 10 : num(v, 0, 6);
    // DTNASC
    v = value(raw, DTNASC);
    if (v.isEmpty()) {
      return reject(r, DTNASC, "missing", v);
    }
    if (v.length() != 8 || !digits(v)) {
      return reject(r, DTNASC, "not a ddMMyyyy date", v);
    }
    int day = num(v, 0, 2); // digits checked above: no substring/parseInt per field
    int month = num(v, 2, 4);
    int year = num(v, 4, 8);
    if (year < 1900 || year > 2100) {
      return reject(r, DTNASC, "year out of range 1900..2100", v);
    }
    try {
      t[0] = (int) LocalDate.of(year, month, day).toEpochDay();
    } catch (DateTimeException e) {
      return reject(r, DTNASC, "invalid date", v);
    }
    // CODESTAB
    v = value(raw, CODESTAB);
    if (v.isEmpty()) {
      t[2] = BirthRecord.NULL;
    } else if (!digits(v) || v.length() > 7) {
      return reject(r, CODESTAB, "not a CNES code (1..7 digits)", v);
    } else {
      t[2] = num(v, 0, v.length());
    }
    // SEXO
    v = value(raw, SEXO);
    switch (v.toUpperCase(Locale.ROOT)) {
      case "": t[3] = BirthRecord.NULL; break;
      case "1": case "M": t[3] = 1; break;
      case "2": case "F": t[3] = 2; break;
      case "0": case "I": t[3] = 0; break;
      default: return reject(r, SEXO, "unknown code (1 M, 2 F, 0 ignored)", v);
    }
    // PESO
    v = value(raw, PESO);
    if (v.isEmpty()) {
      t[4] = BirthRecord.NULL;
    } else if (!digits(v)) {
      return reject(r, PESO, "not a number", v);
    } else if (v.length() > 4) {
      return reject(r, PESO, "out of range 1..9998 g (0 and 9999 = unknown)", v);
    } else {
      int g = num(v, 0, v.length());
      t[4] = g == 0 || g == 9999 ? BirthRecord.NULL : g;
    }
    if ((t[5] = smallCount(r, SEMAGESTAC, false)) == BAD || (t[6] = smallCount(r, IDADEMAE, true)) == BAD) {
      return r;
    }
    // PARTO
    v = value(raw, PARTO);
    switch (v) {
      case "": t[7] = BirthRecord.NULL; break;
      case "1": t[7] = 1; break;
      case "2": t[7] = 2; break;
      case "9": t[7] = 9; break;
      default: return reject(r, PARTO, "unknown code (1 vaginal, 2 cesarean, 9 ignored)", v);
    }
    if ((t[8] = smallCount(r, CONSPRENAT, false)) == BAD
        || (t[9] = category(r, GESTACAO, 6, "1 <22 weeks .. 6 42+")) == BAD
        || (t[10] = category(r, CONSULTAS, 4, "1 none, 2 1-3, 3 4-6, 4 7+ visits")) == BAD) {
      return r;
    }
    return r;
  }

  /** Field {@code col} as text, "" when the file lacks it. */
  private static String value(String[] raw, int col) {
    return raw[col] == null ? "" : raw[col];
  }

  /** 1–2 digits; 99 and empty (and 0 when {@code zeroUnknown}) = NULL; else BAD with the reason set. */
  private static int smallCount(Result r, int col, boolean zeroUnknown) {
    String v = value(r.raw, col);
    if (v.isEmpty() || v.equals("99")) {
      return BirthRecord.NULL;
    }
    if (!digits(v)) {
      reject(r, col, "not a number", v);
      return BAD;
    }
    if (v.length() > 2) {
      reject(r, col, "out of range 0..98 (99 = ignored)", v);
      return BAD;
    }
    int n = num(v, 0, v.length());
    return zeroUnknown && n == 0 ? BirthRecord.NULL : n;
  }

  /** A code 1..max; empty, 8 and 9 = NULL; else BAD with the reason set. */
  private static int category(Result r, int col, int max, String codes) {
    String v = value(r.raw, col);
    if (v.isEmpty() || v.equals("8") || v.equals("9")) {
      return BirthRecord.NULL;
    }
    if (v.length() != 1 || v.charAt(0) < '1' || v.charAt(0) > '0' + max) {
      reject(r, col, "unknown code (" + codes + ", 8/9 ignored)", v);
      return BAD;
    }
    return v.charAt(0) - '0';
  }

  private static Result reject(Result r, int col, String what, String value) {
    r.reason = COLUMNS.get(col) + ": " + what + " '" + value + "'";
    return r;
  }

  /** The value of the decimal digits s[from, to) (already checked to be digits). */
  private static int num(String s, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      n = n * 10 + (s.charAt(i) - '0');
    }
    return n;
  }

  private static boolean digits(String s) {
    if (s.isEmpty()) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static String firstLine(Throwable e) {
    Throwable t = e.getCause() != null ? e.getCause() : e;
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    int nl = m.indexOf('\n');
    m = nl < 0 ? m : m.substring(0, nl);
    return m.length() > 120 ? m.substring(0, 120) : m;
  }
}
