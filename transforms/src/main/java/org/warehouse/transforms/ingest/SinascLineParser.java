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
 * Splits one physical line of a SINASC export with Commons CSV ({@code ;}, {@code "} quotes) and
 * types the columns fact_births needs. Each line is parsed on its own: SINASC records never span
 * lines, and an unbalanced quote then costs that one line instead of swallowing the rest of the file.
 *
 * <p>Typing rules (empty value = NULL unless the column is required):
 *
 * <ul>
 *   <li>CODMUNRES (required): 6 digits (DATASUS code), or 7 digits (IBGE code: the check digit is dropped).
 *   <li>DTNASC (required): ddMMyyyy, a real calendar date, year 1900..2100.
 *   <li>SEXO: 1 or M = male (1), 2 or F = female (2), 0 or I = ignored (0).
 *   <li>PESO: grams, 1..9999.
 *   <li>SEMAGESTAC, IDADEMAE, CONSPRENAT: 1–2 digits; 99 (SINASC's "ignored") = NULL. These are the
 *       numeric SINASC fields (weeks, years, visits), not the categorical GESTACAO/CONSULTAS.
 *   <li>PARTO: 1 vaginal, 2 cesarean, 9 ignored.
 *   <li>CODESTAB (CNES): 1..7 digits.
 * </ul>
 *
 * A reason always starts with the column it is about ({@code "PESO: not a number '3,2kg'"}), or
 * with {@code "row: "} when the line as a whole cannot be split into the header's columns.
 */
public final class SinascLineParser implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The SINASC columns ingest types, in bronze/silver order. */
  public static final List<String> REQUIRED =
      List.of("CODMUNRES", "DTNASC", "SEXO", "PESO", "SEMAGESTAC", "IDADEMAE", "PARTO", "CONSPRENAT", "CODESTAB");

  static final int CODMUNRES = 0;
  static final int DTNASC = 1;
  static final int SEXO = 2;
  static final int PESO = 3;
  static final int SEMAGESTAC = 4;
  static final int IDADEMAE = 5;
  static final int PARTO = 6;
  static final int CONSPRENAT = 7;
  static final int CODESTAB = 8;

  public static final CSVFormat FORMAT =
      CSVFormat.RFC4180.builder().setDelimiter(';').setQuote('"').setRecordSeparator("\r\n").build();

  private final List<String> header;
  private final int[] index; // REQUIRED[i] is at field index[i]

  /** The result of one line: either typed values (and the raw fields) or the reason it was rejected. */
  public static final class Result {
    /** The REQUIRED fields as text when split by the Commons CSV path; see {@link #raw(int)}. */
    String[] raw;
    /** Fast path: the line's characters (the caller's array) and the trimmed range [from[i], to[i]) of each field. */
    char[] chars;
    final int[] from = new int[REQUIRED.size()];
    final int[] to = new int[REQUIRED.size()];
    boolean fast;
    /** fact_births columns birth_date(epoch day), code, cnes, sex, weight, weeks, age, delivery, prenatal. */
    public final int[] typed = new int[9];
    /** Null when the line is good. */
    public String reason;

    public boolean ok() {
      return reason == null;
    }

    /** True when the line split into the header's columns (its raw fields exist). */
    public boolean split() {
      return fast || raw != null;
    }

    /** REQUIRED field i as text (quotes removed, trimmed); only when {@link #split()}. */
    public String raw(int i) {
      return fast ? new String(chars, from[i], to[i] - from[i]) : raw[i];
    }

    /** Appends REQUIRED field i in COPY text form (UTF-8, escaped) without building a String. */
    void appendRaw(CopyBuffer out, int i) {
      if (fast) {
        out.escaped(chars, from[i], to[i]);
      } else {
        out.escaped(raw[i].toCharArray(), 0, raw[i].length());
      }
    }
  }

  private SinascLineParser(List<String> header, int[] index) {
    this.header = header;
    this.index = index;
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
    List<String> names = new ArrayList<>();
    for (String f : split(h)) {
      names.add(f.trim().toUpperCase(Locale.ROOT));
    }
    int[] index = new int[REQUIRED.size()];
    List<String> missing = new ArrayList<>();
    for (int i = 0; i < REQUIRED.size(); i++) {
      index[i] = names.indexOf(REQUIRED.get(i));
      if (index[i] < 0) {
        missing.add(REQUIRED.get(i));
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException("header lacks column(s) " + String.join(", ", missing)
          + " (header: " + String.join(";", names) + ")");
    }
    return new SinascLineParser(List.copyOf(names), index);
  }

  public List<String> header() {
    return header;
  }

  private static List<String> split(String line) {
    try (CSVParser p = CSVParser.parse(new StringReader(line), FORMAT)) {
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
        records = CSVParser.parse(feeder, FORMAT).iterator();
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
        if (close == len || (close + 1 < len && cs[close + 1] != ';')) {
          return false; // unbalanced, doubled or misplaced quote
        }
        starts[f] = pos + 1;
        ends[f] = close;
        end = close + 1;
      } else {
        end = pos;
        while (end < len) {
          char c = cs[end];
          if (c == ';') {
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
      pos = end + 1; // past the ';'
    }
    if (f != n) {
      return false; // fewer fields than the header
    }
    int[] from = r.from;
    int[] to = r.to;
    for (int i = 0; i < index.length; i++) {
      int a = starts[index[i]];
      int b = ends[index[i]];
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
    // PESO: empty or 1..4 digits, >= 1
    a = from[PESO];
    w = to[PESO] - a;
    if (w == 0) {
      t[4] = BirthRecord.NULL;
    } else if (w > 4 || !digits(cs, a, a + w) || num(cs, a, a + w) < 1) {
      return false;
    } else {
      t[4] = num(cs, a, a + w);
    }
    if ((t[5] = smallCountFast(cs, from[SEMAGESTAC], to[SEMAGESTAC])) == BAD
        || (t[6] = smallCountFast(cs, from[IDADEMAE], to[IDADEMAE])) == BAD
        || (t[8] = smallCountFast(cs, from[CONSPRENAT], to[CONSPRENAT])) == BAD) {
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

  /** 1–2 digits; 99 and empty = NULL; anything else BAD (the Commons CSV path words the reason). */
  private static int smallCountFast(char[] s, int a, int b) {
    int w = b - a;
    if (w == 0) {
      return BirthRecord.NULL;
    }
    if (w > 2 || !digits(s, a, b)) {
      return BAD;
    }
    int v = num(s, a, b);
    return v == 99 ? BirthRecord.NULL : v;
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
        fields = split(line); // on its own, as the file-wide parser could not split it: same reason as ever
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
    String[] raw = new String[REQUIRED.size()];
    for (int i = 0; i < raw.length; i++) {
      raw[i] = fields.get(index[i]).trim();
    }
    r.raw = raw;
    int[] t = r.typed;
    // CODMUNRES
    String v = raw[CODMUNRES];
    if (v.isEmpty()) {
      return reject(r, CODMUNRES, "missing", v);
    }
    if (!digits(v) || (v.length() != 6 && v.length() != 7)) {
      return reject(r, CODMUNRES, "not a 6- or 7-digit municipality code", v);
    }
    t[1] = v.length() == 7 ? num(v, 0, 7) / 10 : num(v, 0, 6);
    // DTNASC
    v = raw[DTNASC];
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
    v = raw[CODESTAB];
    if (v.isEmpty()) {
      t[2] = BirthRecord.NULL;
    } else if (!digits(v) || v.length() > 7) {
      return reject(r, CODESTAB, "not a CNES code (1..7 digits)", v);
    } else {
      t[2] = num(v, 0, v.length());
    }
    // SEXO
    v = raw[SEXO];
    switch (v.toUpperCase(Locale.ROOT)) {
      case "": t[3] = BirthRecord.NULL; break;
      case "1": case "M": t[3] = 1; break;
      case "2": case "F": t[3] = 2; break;
      case "0": case "I": t[3] = 0; break;
      default: return reject(r, SEXO, "unknown code (1 M, 2 F, 0 ignored)", v);
    }
    // PESO
    v = raw[PESO];
    if (v.isEmpty()) {
      t[4] = BirthRecord.NULL;
    } else if (!digits(v)) {
      return reject(r, PESO, "not a number", v);
    } else if (v.length() > 4 || num(v, 0, v.length()) < 1) {
      return reject(r, PESO, "out of range 1..9999 g", v);
    } else {
      t[4] = num(v, 0, v.length());
    }
    int x = smallCount(r, SEMAGESTAC);
    if (r.reason != null) {
      return r;
    }
    t[5] = x;
    x = smallCount(r, IDADEMAE);
    if (r.reason != null) {
      return r;
    }
    t[6] = x;
    // PARTO
    v = raw[PARTO];
    switch (v) {
      case "": t[7] = BirthRecord.NULL; break;
      case "1": t[7] = 1; break;
      case "2": t[7] = 2; break;
      case "9": t[7] = 9; break;
      default: return reject(r, PARTO, "unknown code (1 vaginal, 2 cesarean, 9 ignored)", v);
    }
    x = smallCount(r, CONSPRENAT);
    if (r.reason != null) {
      return r;
    }
    t[8] = x;
    return r;
  }

  /** 1–2 digits; 99 and empty = NULL. */
  private static int smallCount(Result r, int col) {
    String v = r.raw[col];
    if (v.isEmpty() || v.equals("99")) {
      return BirthRecord.NULL;
    }
    if (!digits(v)) {
      reject(r, col, "not a number", v);
      return 0;
    }
    if (v.length() > 2) {
      reject(r, col, "out of range 0..98 (99 = ignored)", v);
      return 0;
    }
    return num(v, 0, v.length());
  }

  private static Result reject(Result r, int col, String what, String value) {
    r.reason = REQUIRED.get(col) + ": " + what + " '" + value + "'";
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
