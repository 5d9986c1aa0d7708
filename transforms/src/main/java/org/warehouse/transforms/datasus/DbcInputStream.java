package org.warehouse.transforms.datasus;

import java.io.IOException;
import java.io.FilterInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.zip.CRC32;

/**
 * Reads a DATASUS .dbc file as the .dbf it holds: the DBF header (stored as is in the .dbc: bytes 0..H-1,
 * H the little-endian uint16 at bytes 8-9), then the records, which the .dbc stores after a CRC32 as a
 * PKWare DCL "implode" stream ({@link DclExplodeInputStream}).
 *
 * <p>The CRC32 (zlib/IEEE, little-endian, at bytes H..H+3) covers the whole decompressed .dbf, header
 * included. It is computed as the bytes are read and compared when the compressed stream ends: a mismatch
 * makes that last read fail with a {@link DbcFormatException} instead of returning end-of-stream, so a
 * reader that reads to the end never takes a damaged file for a good one. Bytes after the compressed
 * stream's end code are read and ignored (so a digest of the underlying stream covers the whole file).
 */
public final class DbcInputStream extends InputStream {
  /** Smallest header: 32 bytes, one 32-byte field descriptor. */
  static final int MIN_HEADER = 64;

  private final InputStream raw;
  private final String name;
  private final byte[] header;
  private final long storedCrc;
  private final DclExplodeInputStream records;
  private final CRC32 crc = new CRC32();
  private final byte[] one = new byte[1];
  private int headerPos;
  private boolean verified;
  private long strayBytes;

  /**
   * Reads the header and the stored CRC32 from {@code raw} (positioned at the start of the .dbc).
   *
   * @param name the file name error messages start with
   */
  public DbcInputStream(InputStream raw, String name) throws IOException {
    this.raw = Objects.requireNonNull(raw, "raw");
    this.name = Objects.requireNonNull(name, "name");
    byte[] start = raw.readNBytes(12);
    if (start.length < 12) {
      throw new DbcFormatException(name + ": only " + start.length + " bytes, too short for a .dbc (a DBF header"
          + " alone has at least " + MIN_HEADER + "): the file is truncated or not a .dbc");
    }
    int h = (start[8] & 0xFF) | (start[9] & 0xFF) << 8;
    if (h < MIN_HEADER) {
      throw new DbcFormatException(name + ": header length " + h + " (bytes 8-9) is less than the " + MIN_HEADER
          + " bytes of a DBF header with one field: the file is damaged or not a .dbc");
    }
    header = new byte[h];
    System.arraycopy(start, 0, header, 0, 12);
    int got = 12 + raw.readNBytes(header, 12, h - 12);
    byte[] c = raw.readNBytes(4);
    if (got < h || c.length < 4) {
      throw new DbcFormatException(name + ": the file ends inside its " + h + "-byte header or the CRC32 after it"
          + ": the file is truncated; download it again");
    }
    storedCrc = (c[0] & 0xFFL) | (c[1] & 0xFFL) << 8 | (c[2] & 0xFFL) << 16 | (c[3] & 0xFFL) << 24;
    records = new DclExplodeInputStream(new HeaderCheck(raw, name, h), name);
  }

  /** Opens a .dbc file. */
  public static DbcInputStream open(Path file) throws IOException {
    InputStream in = Files.newInputStream(file);
    try {
      return new DbcInputStream(in, String.valueOf(file.getFileName()));
    } catch (IOException | RuntimeException e) {
      in.close();
      throw e;
    }
  }

  /** The DBF header length H (bytes 8-9). */
  public int headerLength() {
    return header.length;
  }

  /** The CRC32 stored in the file. */
  public long storedCrc() {
    return storedCrc;
  }

  /** The CRC32 of the bytes read so far. */
  public long computedCrc() {
    return crc.getValue();
  }

  /** True once the end was reached and the CRC32 matched. */
  public boolean verified() {
    return verified;
  }

  /** Bytes of the file after the compressed stream's end code (known at the end; ignored). */
  public long strayBytes() {
    return strayBytes;
  }

  @Override
  public int read() throws IOException {
    int n = read(one, 0, 1);
    return n < 0 ? -1 : one[0] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    int n;
    if (headerPos < header.length) {
      n = Math.min(len, header.length - headerPos);
      System.arraycopy(header, headerPos, b, off, n);
      headerPos += n;
    } else {
      n = records.read(b, off, len);
      if (n < 0) {
        finish();
        return -1;
      }
    }
    crc.update(b, off, n);
    return n;
  }

  private void finish() throws IOException {
    if (verified) {
      return;
    }
    long computed = crc.getValue();
    if (computed != storedCrc) {
      throw new DbcFormatException(String.format("%s: CRC32 mismatch (stored 0x%08x, computed 0x%08x over %d"
          + " decompressed bytes): the file is damaged; download it again", name, storedCrc, computed,
          header.length + records.produced()));
    }
    strayBytes = records.unusedInputBytes() + raw.transferTo(OutputStream.nullOutputStream());
    verified = true;
  }

  @Override
  public void close() throws IOException {
    records.close();
  }

  /**
   * Passes the compressed stream through, checking its first two bytes: when they are not a DCL header,
   * the header length H was most likely wrong (the CRC and the compressed data are read from the wrong
   * place), which is the more useful thing to say.
   */
  private static final class HeaderCheck extends FilterInputStream {
    private final String name;
    private final int h;
    private boolean checked;

    HeaderCheck(InputStream in, String name, int h) {
      super(in);
      this.name = name;
      this.h = h;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      if (checked) {
        return in.read(b, off, len);
      }
      byte[] two = in.readNBytes(2);
      checked = true;
      if (two.length == 2 && ((two[0] & 0xFF) > 1 || (two[1] & 0xFF) < 4 || (two[1] & 0xFF) > 6)) {
        throw new DbcFormatException(String.format("%s: no PKWare DCL header after the %d-byte DBF header and its"
            + " CRC32 (bytes %d-%d are 0x%02x 0x%02x, expected 0x00 or 0x01 then 0x04..0x06): the header length"
            + " (bytes 8-9) is wrong or the file is damaged or not a .dbc", name, h, h + 4, h + 5,
            two[0] & 0xFF, two[1] & 0xFF));
      }
      if (len < two.length) {
        throw new IOException("read buffer too small");
      }
      System.arraycopy(two, 0, b, off, two.length);
      return two.length == 0 ? -1 : two.length;
    }
  }
}
