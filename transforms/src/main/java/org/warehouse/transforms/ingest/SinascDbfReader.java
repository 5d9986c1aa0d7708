package org.warehouse.transforms.ingest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.Charset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.warehouse.transforms.datasus.DbcFormatException;
import org.warehouse.transforms.datasus.DbcInputStream;
import org.warehouse.transforms.datasus.DbfField;
import org.warehouse.transforms.datasus.DbfReader;

/**
 * Reads one DATASUS file — a .dbc (DBF compressed with PKWare DCL implode) or a plain .dbf — record by
 * record, streaming, and types each record's fields by name as a CSV line's ({@link SinascLineParser}):
 * "line number" = record number (1-based, deleted records counted but skipped), a reject keeps the
 * record's text. A damaged file (CRC32 mismatch, truncated, bad header) is a file-level error.
 */
final class SinascDbfReader {
  private SinascDbfReader() {}

  static boolean handles(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    return lower.endsWith(".dbc") || lower.endsWith(".dbf");
  }

  /** Reads {@code stored} (the file's bytes as stored; not closed here) into {@code sink}. */
  static void read(InputStream stored, String name, long fileId, Charset charset, boolean withBronze,
      SinascFileReader.Sink sink, SinascFileReader.Outcome o) throws IOException {
    try {
      InputStream dbf = name.toLowerCase(Locale.ROOT).endsWith(".dbc") ? new DbcInputStream(stored, name) : stored;
      DbfReader reader = DbfReader.of(dbf, name, charset);
      SinascLineParser parser;
      List<String> names = new ArrayList<>();
      reader.fields().forEach(f -> names.add(f.name().toUpperCase(Locale.ROOT)));
      try {
        parser = SinascLineParser.forFields(names);
      } catch (IllegalArgumentException e) {
        o.error = e.getMessage();
        return;
      }
      records(reader, parser, new RowWriter(sink, name, fileId, withBronze, o), charset);
      o.deleted = reader.deletedSkipped();
    } catch (DbcFormatException e) {
      o.error = e.getMessage() + " (nothing of it was loaded: replace it, then re-run)";
    }
  }

  /**
   * Every record: decoded into one reused char[] (a single-byte charset keeps the DBF's offsets; any
   * other gets its trimmed fields one by one), typed in place, written or rejected.
   */
  private static void records(DbfReader reader, SinascLineParser parser, RowWriter out, Charset charset)
      throws IOException {
    List<DbfField> fields = reader.fields();
    int n = fields.size();
    int[] from = new int[n];
    int[] to = new int[n];
    boolean singleByte = charset.newEncoder().maxBytesPerChar() == 1.0f;
    for (int k = 0; k < n; k++) {
      from[k] = fields.get(k).offset() - 1; // rawRecord() starts after the deletion flag
      to[k] = from[k] + fields.get(k).length();
    }
    char[] chars = new char[reader.recordLength()];
    StringBuilder other = new StringBuilder();
    SinascLineParser.Result r = new SinascLineParser.Result();
    while (reader.next()) {
      long number = reader.recordNumber();
      out.count(number, "records");
      String raw = reader.rawRecord();
      if (singleByte) {
        raw.getChars(0, raw.length(), chars, 0);
      } else {
        other.setLength(0);
        for (int k = 0; k < n; k++) {
          String v = reader.field(k);
          from[k] = other.length();
          other.append(v == null ? "" : v);
          to[k] = other.length();
        }
        chars = other.length() > chars.length ? new char[other.length()] : chars;
        other.getChars(0, other.length(), chars, 0);
      }
      if (!out.write(parser.parseFields(chars, from, to, r), number)) {
        out.reject(number, raw, r.reason);
      }
    }
    out.finish();
  }
}
