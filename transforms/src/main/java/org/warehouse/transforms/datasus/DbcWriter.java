package org.warehouse.transforms.datasus;

import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32;

/**
 * Writes a DATASUS-style .dbc (DBF header, CRC32 of the whole .dbf, PKWare DCL compressed records) or a
 * plain .dbf, one record at a time: nothing but a record and the compressor's buffers is held in memory.
 * The record count goes in the header, so it is given up front; closing checks that exactly that many
 * records were written, then writes the CRC32 in place. For tests and benchmarks.
 *
 * <pre>{@code
 * try (DbcWriter w = DbcWriter.to(path, fields, 2).open()) {
 *   w.write(values1);
 *   w.writeDeleted(values2);
 * }
 * }</pre>
 */
public final class DbcWriter implements Closeable {
  private final FileChannel channel;
  private final OutputStream file;
  private final OutputStream records;
  private final CRC32 crc = new CRC32();
  private final List<DbfField> fields;
  private final long declared;
  private final boolean dbc;
  private final int headerLength;
  private final boolean endMarker;
  private final Charset charset;
  private final boolean latin1;
  private final byte[] record;
  private long written;
  private boolean closed;

  /** Options of a writer; {@link #open()} creates the file. */
  public static final class Builder {
    private final Path file;
    private final List<DbfField> fields;
    private final long records;
    private boolean dbc = true;
    private Charset charset = StandardCharsets.ISO_8859_1;
    private boolean codedLiterals;
    private int dictBits = 6;
    private boolean matches = true;
    private boolean endMarker = true;
    private LocalDate lastUpdate = LocalDate.of(2000, 1, 1);

    private Builder(Path file, List<DbfField> fields, long records) {
      this.file = Objects.requireNonNull(file, "file");
      this.fields = List.copyOf(fields);
      this.records = records;
    }

    /** A plain .dbf instead of a .dbc. */
    public Builder plainDbf() {
      dbc = false;
      return this;
    }

    public Builder charset(Charset cs) {
      charset = Objects.requireNonNull(cs);
      return this;
    }

    /** The compressed stream's form (see {@link DclImplodeOutputStream}); default: 8-bit literals, 4 KB, matches. */
    public Builder compression(boolean codedLiterals, int dictBits, boolean matches) {
      this.codedLiterals = codedLiterals;
      this.dictBits = dictBits;
      this.matches = matches;
      return this;
    }

    /** Whether a 0x1A end marker follows the records (default: yes). */
    public Builder endMarker(boolean on) {
      endMarker = on;
      return this;
    }

    /** The header's date of last update (default 2000-01-01, so that output is reproducible). */
    public Builder lastUpdate(LocalDate d) {
      lastUpdate = Objects.requireNonNull(d);
      return this;
    }

    public DbcWriter open() throws IOException {
      return new DbcWriter(this);
    }
  }

  /** A writer of {@code records} records with these fields (offsets as {@link #characterFields} gives). */
  public static Builder to(Path file, List<DbfField> fields, long records) {
    return new Builder(file, fields, records);
  }

  /** Character (C) fields with these names and widths, offsets counted from 1 (after the deletion flag). */
  public static List<DbfField> characterFields(List<String> names, int[] lengths) {
    if (names.size() != lengths.length) {
      throw new IllegalArgumentException(names.size() + " names but " + lengths.length + " lengths");
    }
    List<DbfField> list = new ArrayList<>();
    int offset = 1;
    for (int i = 0; i < lengths.length; i++) {
      list.add(new DbfField(names.get(i), 'C', lengths[i], 0, offset));
      offset += lengths[i];
    }
    return list;
  }

  private DbcWriter(Builder b) throws IOException {
    fields = b.fields;
    declared = b.records;
    dbc = b.dbc;
    endMarker = b.endMarker;
    charset = b.charset;
    latin1 = StandardCharsets.ISO_8859_1.equals(charset);
    if (fields.isEmpty() || declared < 0 || declared > 0xFFFFFFFFL) {
      throw new IllegalArgumentException("need at least one field and 0..2^32-1 records");
    }
    int length = 1;
    for (DbfField f : fields) {
      if (f.offset() != length || f.length() < 1 || f.length() > 255 || f.name().length() > 10) {
        throw new IllegalArgumentException("field " + f + ": need 1..255 bytes, a name of at most 10 characters"
            + " and offset " + length + " (the sum of the lengths before it, plus 1)");
      }
      length += f.length();
    }
    if (length > 0xFFFF) {
      throw new IllegalArgumentException("record length " + length + " exceeds 65535");
    }
    record = new byte[length];
    headerLength = 32 + 32 * fields.size() + 1;
    byte[] header = header(b.lastUpdate, length);
    channel = FileChannel.open(b.file, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
        StandardOpenOption.WRITE);
    try {
      file = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
      file.write(header);
      crc.update(header);
      if (dbc) {
        file.write(new byte[4]); // the CRC32, written in place by close()
        records = new DclImplodeOutputStream(file, b.codedLiterals, b.dictBits, b.matches);
      } else {
        records = file;
      }
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private byte[] header(LocalDate d, int recordLength) {
    ByteBuffer h = ByteBuffer.allocate(headerLength).order(ByteOrder.LITTLE_ENDIAN);
    h.put((byte) 0x03).put((byte) (d.getYear() - 1900)).put((byte) d.getMonthValue()).put((byte) d.getDayOfMonth());
    h.putInt((int) declared).putShort((short) headerLength).putShort((short) recordLength);
    h.position(32);
    for (DbfField f : fields) {
      byte[] name = Arrays.copyOf(f.name().getBytes(StandardCharsets.ISO_8859_1), 11);
      h.put(name).put((byte) f.type()).putInt(0).put((byte) f.length()).put((byte) f.decimals()).put(new byte[14]);
    }
    h.put((byte) 0x0D);
    return h.array();
  }

  /** The DBF header length of the file being written. */
  public int headerLength() {
    return headerLength;
  }

  /** Writes a record; values[i] is field i's text (null = blank). */
  public void write(String... values) throws IOException {
    write(false, values);
  }

  /** Writes a record flagged deleted ({@code *}). */
  public void writeDeleted(String... values) throws IOException {
    write(true, values);
  }

  /**
   * Writes one record. Character fields are left-aligned, numeric ones (N, F) right-aligned, both padded
   * with spaces; a value wider than its field is an IllegalArgumentException (never cut silently).
   */
  public void write(boolean deleted, String[] values) throws IOException {
    if (values.length != fields.size()) {
      throw new IllegalArgumentException(values.length + " values for " + fields.size() + " fields");
    }
    if (written == declared) {
      throw new IllegalStateException("the header declares " + declared + " records; all were written");
    }
    Arrays.fill(record, (byte) ' ');
    if (deleted) {
      record[0] = '*';
    }
    for (int i = 0; i < values.length; i++) {
      String v = values[i];
      if (v != null && !v.isEmpty()) {
        put(fields.get(i), v);
      }
    }
    crc.update(record);
    records.write(record);
    written++;
  }

  private void put(DbfField f, String v) {
    int n = v.length();
    boolean right = f.type() == 'N' || f.type() == 'F';
    if (latin1) {
      if (n > f.length()) {
        throw tooWide(f, v);
      }
      int at = f.offset() + (right ? f.length() - n : 0);
      for (int i = 0; i < n; i++) {
        char c = v.charAt(i);
        if (c > 0xFF) {
          throw new IllegalArgumentException("field " + f.name() + ": '" + v + "' is not Latin-1 text");
        }
        record[at + i] = (byte) c;
      }
    } else {
      byte[] b = v.getBytes(charset);
      if (b.length > f.length()) {
        throw tooWide(f, v);
      }
      System.arraycopy(b, 0, record, f.offset() + (right ? f.length() - b.length : 0), b.length);
    }
  }

  private static IllegalArgumentException tooWide(DbfField f, String v) {
    return new IllegalArgumentException("field " + f.name() + " (" + f.length() + " bytes): '" + v + "' is wider");
  }

  /** Records written so far. */
  public long written() {
    return written;
  }

  /** Ends the records (0x1A marker), the compressed stream and the file, then writes the CRC32 in place. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try (FileChannel ch = channel) {
      if (endMarker) {
        records.write(0x1A);
        crc.update(0x1A);
      }
      if (records instanceof DclImplodeOutputStream) {
        ((DclImplodeOutputStream) records).finish();
      }
      file.flush();
      if (written != declared) {
        throw new IllegalStateException("the header declares " + declared + " records but " + written
            + " were written");
      }
      if (dbc) {
        ByteBuffer c = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) crc.getValue());
        c.flip();
        while (c.hasRemaining()) {
          ch.write(c, headerLength + c.position());
        }
      }
    }
  }
}
