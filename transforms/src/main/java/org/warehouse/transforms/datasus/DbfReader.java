package org.warehouse.transforms.datasus;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Reads the records of a DBF file (plain, or decompressed from a DATASUS .dbc by {@link DbcInputStream})
 * one at a time, fields by name, streaming: one buffer of at least 64 KB is reused for every record.
 *
 * <p>What real DATASUS files need: the field descriptors end at a 0x0D byte, at a 0x00 byte, or where the
 * header length H says (no terminator); records start at byte H whatever lies between; deleted records
 * (flag {@code *}) are skipped and counted; after the header's number of records the rest (a 0x1A end
 * marker) is read and ignored, so that a .dbc's CRC32 is always checked; text is Latin-1 unless a charset
 * is given or the header's code page byte (29) names one (0 = none: Latin-1).
 *
 * <p>Every failure is a {@link DbcFormatException} with one line naming the file.
 */
public final class DbfReader implements AutoCloseable {
  private final InputStream in;
  private final String fileName;
  private final Charset charset;
  private final int headerLength;
  private final int recordLength;
  private final long declared;
  private final List<DbfField> fields;
  private final Map<String, Integer> byName = new HashMap<>();
  private final int[] offsets;
  private final int[] lengths;

  private byte[] buf;
  private int pos;
  private int limit;
  private boolean eof;
  /** Start of the current record in buf; -1 when there is none. */
  private int current = -1;
  private long recordNumber;
  private long deletedSkipped;
  private boolean done;

  private DbfReader(InputStream in, String fileName, Charset charset) throws IOException {
    this.in = in;
    this.fileName = fileName;
    byte[] head = in.readNBytes(32);
    if (head.length < 32) {
      throw fail("only " + head.length + " bytes, too short for a DBF header (32 bytes and the field"
          + " descriptors): the file is truncated or not a DBF");
    }
    declared = le32(head, 4);
    headerLength = le16(head, 8);
    recordLength = le16(head, 10);
    if (headerLength < DbcInputStream.MIN_HEADER) {
      throw fail("header length " + headerLength + " (bytes 8-9) is less than the " + DbcInputStream.MIN_HEADER
          + " bytes of a header with one field: the file is damaged or not a DBF");
    }
    byte[] header = new byte[headerLength];
    System.arraycopy(head, 0, header, 0, 32);
    if (in.readNBytes(header, 32, headerLength - 32) < headerLength - 32) {
      throw fail("the file ends inside its " + headerLength + "-byte header: the file is truncated");
    }
    this.charset = charset != null ? charset : codePage(header[29]);
    fields = Collections.unmodifiableList(descriptors(header));
    offsets = new int[fields.size()];
    lengths = new int[fields.size()];
    int sum = 1;
    for (int i = 0; i < fields.size(); i++) {
      DbfField f = fields.get(i);
      offsets[i] = f.offset();
      lengths[i] = f.length();
      sum += f.length();
      byName.putIfAbsent(f.name().toUpperCase(Locale.ROOT), i);
    }
    if (sum != recordLength) {
      throw fail("record length " + recordLength + " (bytes 10-11) is not 1 + the " + fields.size()
          + " field lengths (" + sum + "): the header is damaged or its length (bytes 8-9) is wrong");
    }
    buf = new byte[Math.max(1 << 16, 2 * recordLength)];
  }

  /**
   * Opens a .dbc (by its extension, any case, or by its content: a DCL header after the DBF header and
   * CRC32) or a plain .dbf.
   *
   * @param charset the text encoding; null = the header's code page byte, Latin-1 when it is 0
   */
  public static DbfReader open(Path file, Charset charset) throws IOException {
    String name = String.valueOf(file.getFileName());
    String lower = name.toLowerCase(Locale.ROOT);
    InputStream raw = Files.newInputStream(file);
    try {
      InputStream data = raw;
      boolean dbc = lower.endsWith(".dbc");
      if (!dbc && !lower.endsWith(".dbf")) {
        byte[] start = raw.readNBytes(12);
        int h = start.length == 12 ? le16(start, 8) : 0;
        byte[] rest = raw.readNBytes(Math.max(0, h + 6 - start.length));
        byte[] head = new byte[start.length + rest.length];
        System.arraycopy(start, 0, head, 0, start.length);
        System.arraycopy(rest, 0, head, start.length, rest.length);
        dbc = head.length == h + 6 && (head[h + 4] & 0xFF) <= 1 && head[h + 5] >= 4 && head[h + 5] <= 6;
        data = new SequenceInputStream(new ByteArrayInputStream(head), raw);
      }
      return new DbfReader(dbc ? new DbcInputStream(data, name) : data, name, charset);
    } catch (IOException | RuntimeException e) {
      raw.close();
      throw e;
    }
  }

  /**
   * Reads DBF bytes (a plain .dbf, or a {@link DbcInputStream}) from the start of the header.
   *
   * @param fileName what error messages name
   * @param charset the text encoding; null = the header's code page byte, Latin-1 when it is 0
   */
  public static DbfReader of(InputStream dbfBytes, String fileName, Charset charset) throws IOException {
    return new DbfReader(Objects.requireNonNull(dbfBytes, "dbfBytes"), Objects.requireNonNull(fileName, "fileName"),
        charset);
  }

  private List<DbfField> descriptors(byte[] header) throws DbcFormatException {
    List<DbfField> list = new ArrayList<>();
    int offset = 1;
    for (int at = 32; at + 32 <= header.length && header[at] != 0x0D && header[at] != 0; at += 32) {
      int end = at;
      while (end < at + 11 && header[end] != 0) {
        end++;
      }
      String name = new String(header, at, end - at, StandardCharsets.ISO_8859_1).trim();
      int length = header[at + 16] & 0xFF;
      if (length == 0) {
        throw fail("field " + (list.size() + 1) + " (" + name + ") has length 0: the header is damaged");
      }
      list.add(new DbfField(name, (char) (header[at + 11] & 0xFF), length, header[at + 17] & 0xFF, offset));
      offset += length;
    }
    if (list.isEmpty()) {
      throw fail("no field descriptors in the header: the file is damaged or not a DBF");
    }
    return list;
  }

  private static Charset codePage(byte b) {
    switch (b & 0xFF) {
      case 0x01: return Charset.forName("IBM437");
      case 0x02: return Charset.forName("IBM850");
      case 0x03: case 0x57: return Charset.forName("windows-1252");
      default: return StandardCharsets.ISO_8859_1;
    }
  }

  public String fileName() {
    return fileName;
  }

  public List<DbfField> fields() {
    return fields;
  }

  /** The record count in the header (deleted records included). */
  public long declaredRecords() {
    return declared;
  }

  public int headerLength() {
    return headerLength;
  }

  public int recordLength() {
    return recordLength;
  }

  public Charset charset() {
    return charset;
  }

  /**
   * Advances to the next record that is not deleted; false after the last one, once the rest of the file
   * was read (for a .dbc: its CRC32 checked).
   */
  public boolean next() throws IOException {
    current = -1;
    if (done) {
      return false;
    }
    while (recordNumber < declared) {
      if (limit - pos < recordLength && !fillFor(recordLength)) {
        throw fail("the data ends after " + recordNumber + " of the " + declared + " records the header declares"
            + (limit > pos ? " (and " + (limit - pos) + " bytes)" : "") + ": the file is truncated; download it again");
      }
      int at = pos;
      pos += recordLength;
      recordNumber++;
      byte flag = buf[at];
      if (flag == ' ') {
        current = at;
        return true;
      }
      if (flag != '*') {
        throw failAfterCheck(String.format("record %d starts with 0x%02x, not a deletion flag (' ' or '*'): the header's"
            + " lengths are wrong or the file is damaged", recordNumber, flag & 0xFF));
      }
      deletedSkipped++;
    }
    drain();
    done = true;
    return false;
  }

  /** Reads the rest of the stream (end marker, padding); records beyond the declared count are an error. */
  private void drain() throws IOException {
    long extra = (limit - pos) + in.transferTo(OutputStream.nullOutputStream());
    pos = limit;
    if (extra >= recordLength) {
      throw failAfterCheck(extra + " bytes after the " + declared + " records the header declares (at least one more"
          + " record): the header's record count (bytes 4-7) is wrong");
    }
  }

  /** Makes at least n bytes available at buf[pos]; false when the stream ends first. */
  private boolean fillFor(int n) throws IOException {
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, limit - pos);
      limit -= pos;
      pos = 0;
    }
    while (limit - pos < n && !eof) {
      int r = in.read(buf, limit, buf.length - limit);
      if (r < 0) {
        eof = true;
      } else {
        limit += r;
      }
    }
    return limit - pos >= n;
  }

  /** 1-based position of the current record in the file, deleted records counted. */
  public long recordNumber() {
    return recordNumber;
  }

  /** Deleted records skipped so far. */
  public long deletedSkipped() {
    return deletedSkipped;
  }

  public boolean hasField(String name) {
    return byName.containsKey(name.toUpperCase(Locale.ROOT));
  }

  /** Index of the field in {@link #fields()} (names compared ignoring case), or -1. */
  public int fieldIndex(String name) {
    Integer i = byName.get(name.toUpperCase(Locale.ROOT));
    return i == null ? -1 : i;
  }

  /** The field's value in the current record, trimmed; null when blank or when there is no such field. */
  public String field(String name) {
    int i = fieldIndex(name);
    return i < 0 ? null : field(i);
  }

  /** Field i (of {@link #fields()}) of the current record, trimmed; null when blank. */
  public String field(int i) {
    int at = record() + offsets[i];
    int a = at;
    int b = at + lengths[i];
    byte[] bb = buf;
    while (a < b && bb[a] >= 0 && bb[a] <= ' ') {
      a++;
    }
    while (b > a && bb[b - 1] >= 0 && bb[b - 1] <= ' ') {
      b--;
    }
    return a == b ? null : new String(bb, a, b - a, charset);
  }

  /** The current record's bytes after the deletion flag, as text (untrimmed), e.g. for a reject. */
  public String rawRecord() {
    return new String(buf, record() + 1, recordLength - 1, charset);
  }

  private int record() {
    if (current < 0) {
      throw new IllegalStateException("no current record: call next() first");
    }
    return current;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }

  /**
   * A record-level failure: reads the rest of the stream first, so that a .dbc's own verdict (CRC32
   * mismatch, truncation: a {@link DbcInputStream} checks at the end), which names the cause, wins over
   * the symptom.
   */
  private DbcFormatException failAfterCheck(String what) throws IOException {
    in.transferTo(OutputStream.nullOutputStream());
    return fail(what);
  }

  private DbcFormatException fail(String what) {
    return new DbcFormatException(fileName + ": " + what);
  }

  private static int le16(byte[] b, int at) {
    return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8;
  }

  private static long le32(byte[] b, int at) {
    return (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16 | (b[at + 3] & 0xFFL) << 24;
  }
}
