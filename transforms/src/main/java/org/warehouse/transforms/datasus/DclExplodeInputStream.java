package org.warehouse.transforms.datasus;

import java.io.IOException;
import java.io.InputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Decompresses a PKWare Data Compression Library "implode" stream (the format of DATASUS .dbc files and
 * of Mark Adler's blast.c; not the "implode" method of ZIP files) as it is read.
 *
 * <p>The stream starts with two bytes: 0 (literals stored as 8 bits) or 1 (literals Huffman-coded), and
 * the dictionary size as 4, 5 or 6 (1, 2 or 4 KB). Then, bits least significant first, each symbol is a
 * literal (bit 0) or a copy of 2..518 bytes from up to 4096 bytes back (bit 1, a length code, a distance
 * code), until the end code (length 519). Bytes after the end code are not read.
 *
 * <p>Memory is bounded whatever the size: the 4 KB window, a 64 KB output buffer behind it, a 64 KB
 * input buffer and the fixed code tables. Huffman codes are decoded by table look-up on a 64-bit bit
 * buffer. Damaged input fails with a {@link DbcFormatException} whose one-line message starts with the
 * name given to the constructor.
 */
public final class DclExplodeInputStream extends InputStream {
  private static final int WINDOW = 4096;
  private static final int MAX_COPY = 518;
  private static final int CHUNK = 1 << 16;
  private static final int[] LITERALS = DclCodes.LITERALS.table;
  private static final int LITERAL_MASK = (1 << DclCodes.LITERALS.maxLength) - 1;
  private static final int[] LENGTHS = DclCodes.LENGTHS.table;
  private static final int LENGTH_MASK = (1 << DclCodes.LENGTHS.maxLength) - 1;
  private static final int[] DISTANCES = DclCodes.DISTANCES.table;
  private static final int DISTANCE_MASK = (1 << DclCodes.DISTANCES.maxLength) - 1;
  private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final InputStream in;
  private final String name;
  private final byte[] inBuf = new byte[CHUNK];
  private int inPos;
  private int inLimit;
  private boolean inEof;
  private long inConsumed;
  private long bitBuf;
  private int bitCount;

  /** Window (the last 4096 bytes already served) then the bytes being served: out[readPos, outPos). */
  private final byte[] out = new byte[WINDOW + CHUNK + MAX_COPY];
  private int outPos;
  private int readPos;
  /** False until the first slide: a copy may then not reach before out[0]. */
  private boolean slid;
  private long produced;

  private boolean started;
  private boolean codedLiterals;
  private int dictBits;
  private boolean ended;
  private boolean closed;

  /** @param name what error messages call the stream (a file name), e.g. "DNSP2023.dbc" */
  public DclExplodeInputStream(InputStream in, String name) {
    this.in = Objects.requireNonNull(in, "in");
    this.name = name == null ? "DCL stream" : name;
  }

  public DclExplodeInputStream(InputStream in) {
    this(in, null);
  }

  /** True once the end code was decoded (and every byte before it may still be waiting to be read). */
  public boolean endReached() {
    return ended;
  }

  /** Input bytes read from the underlying stream but not decoded (after the end code: the stray bytes). */
  public long unusedInputBytes() {
    return inLimit - inPos + bitCount / 8;
  }

  /** Bytes of decompressed output produced so far. */
  public long produced() {
    return produced;
  }

  @Override
  public int read() throws IOException {
    if (readPos == outPos && !fill()) {
      return -1;
    }
    return out[readPos++] & 0xFF;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) {
      return 0;
    }
    if (readPos == outPos && !fill()) {
      return -1;
    }
    int n = Math.min(len, outPos - readPos);
    System.arraycopy(out, readPos, b, off, n);
    readPos += n;
    return n;
  }

  @Override
  public int available() {
    return outPos - readPos;
  }

  @Override
  public void close() throws IOException {
    closed = true;
    in.close();
  }

  /** Decodes the next chunk into out[readPos, outPos); false at the end of the stream. */
  private boolean fill() throws IOException {
    if (closed) {
      throw new IOException(name + ": stream closed");
    }
    if (ended) {
      return false;
    }
    if (!started) {
      start();
    }
    if (outPos >= WINDOW + CHUNK) {
      System.arraycopy(out, outPos - WINDOW, out, 0, WINDOW);
      outPos = WINDOW;
      readPos = WINDOW;
      slid = true;
    }
    int start = outPos;
    decode(WINDOW + CHUNK);
    produced += outPos - start;
    return outPos > readPos;
  }

  private void start() throws IOException {
    started = true;
    int lit = inByte();
    int dict = lit < 0 ? -1 : inByte();
    if (lit < 0 || dict < 0) {
      throw new DbcFormatException(name + ": the compressed data is missing (the file ends before its"
          + " PKWare DCL header): the file is truncated; download it again");
    }
    if (lit > 1 || dict < 4 || dict > 6) {
      throw new DbcFormatException(String.format("%s: not PKWare DCL compressed data (header bytes 0x%02x 0x%02x,"
          + " expected 0x00 or 0x01 then 0x04..0x06): the file is damaged or not a .dbc", name, lit, dict));
    }
    codedLiterals = lit == 1;
    dictBits = dict;
  }

  /**
   * Decodes symbols until out holds at least {@code limit} bytes or the end code is read. The loop keeps
   * the bit buffer in locals and refills it 8 bytes at a time (the bits above the count are then the
   * stream's next bits, not zeros; no read uses them); while it holds 32 bits or more (any symbol takes
   * at most 30) nothing needs checking. Within 4 bytes of the end of the input it hands over to {@link
   * #decodeChecked}, which checks every read.
   */
  private void decode(int limit) throws IOException {
    byte[] o = out;
    byte[] ib = inBuf;
    int pos = outPos;
    long bb = bitBuf;
    int bc = bitCount;
    int ip = inPos;
    boolean coded = codedLiterals;
    int dictShift = dictBits;
    while (pos < limit) {
      if (bc < 32) {
        if (inLimit - ip >= 8) {
          bb |= (long) LONG_LE.get(ib, ip) << bc;
          ip += (63 - bc) >>> 3;
          bc |= 56;
        } else if (refillSlowly(bb, bc, ip)) {
          bb = bitBuf;
          bc = bitCount;
          ip = inPos;
        } else { // the input ends within 4 bytes
          outPos = pos;
          decodeChecked(limit);
          return;
        }
      }
      if ((bb & 1) == 0) { // a literal: Huffman-coded, or its 8 bits as they are (read as a 8-bit code)
        int e = coded ? LITERALS[(int) (bb >>> 1) & LITERAL_MASK] : (((int) (bb >>> 1) & 0xFF) << 4) | 8;
        int n = 1 + (e & 15);
        bb >>>= n;
        bc -= n;
        o[pos++] = (byte) (e >>> 4);
        continue;
      }
      int e = LENGTHS[(int) (bb >>> 1) & LENGTH_MASK];
      int n = 1 + (e & 15);
      int sym = e >>> 4;
      int extra = DclCodes.LENGTH_EXTRA[sym];
      int len = DclCodes.LENGTH_BASE[sym] + ((int) (bb >>> n) & ((1 << extra) - 1));
      bb >>>= n + extra;
      bc -= n + extra;
      if (len == DclCodes.END_LENGTH) {
        ended = true;
        break;
      }
      e = DISTANCES[(int) bb & DISTANCE_MASK];
      n = e & 15;
      int shift = len == 2 ? 2 : dictShift;
      int dist = ((e >>> 4) << shift) + ((int) (bb >>> n) & ((1 << shift) - 1)) + 1;
      bb >>>= n + shift;
      bc -= n + shift;
      if (!slid && dist > pos) {
        throw corruptCopy(dist, pos, ip);
      }
      pos = copy(o, pos, dist, len);
    }
    bitBuf = bb;
    bitCount = bc;
    inPos = ip;
    outPos = pos;
  }

  /** Refills the bit buffer byte by byte, reading more input; false when it still holds under 32 bits. */
  private boolean refillSlowly(long bb, int bc, int ip) throws IOException {
    bitBuf = bb;
    bitCount = bc;
    inPos = ip;
    refill();
    return bitCount >= 32;
  }

  /** Copies {@code len} bytes from {@code dist} bytes back to {@code pos} (overlapping: byte by byte); the new position. */
  private static int copy(byte[] o, int pos, int dist, int len) {
    int from = pos - dist;
    if (dist >= len && len > 16) {
      System.arraycopy(o, from, o, pos, len);
      return pos + len;
    }
    for (int end = pos + len; pos < end; ) {
      o[pos++] = o[from++];
    }
    return pos;
  }

  private DbcFormatException corruptCopy(int dist, int pos, int ip) {
    outPos = pos;
    inPos = ip;
    return corrupt("a copy reaches " + dist + " bytes back, before the start of the data");
  }

  /** {@link #decode} with every read checked, for the last bytes of the input. */
  private void decodeChecked(int limit) throws IOException {
    byte[] o = out;
    int pos = outPos;
    DclCodes.Code lits = DclCodes.LITERALS;
    while (pos < limit) {
      if (bitCount < 32) {
        refill();
      }
      if (bits(1) == 0) {
        o[pos++] = (byte) (codedLiterals ? symbol(lits) : bits(8));
        continue;
      }
      int sym = symbol(DclCodes.LENGTHS);
      int len = DclCodes.LENGTH_BASE[sym] + bits(DclCodes.LENGTH_EXTRA[sym]);
      if (len == DclCodes.END_LENGTH) {
        ended = true;
        break;
      }
      int shift = len == 2 ? 2 : dictBits;
      int dist = (symbol(DclCodes.DISTANCES) << shift) + bits(shift) + 1;
      if (!slid && dist > pos) {
        throw corruptCopy(dist, pos, inPos);
      }
      pos = copy(o, pos, dist, len);
    }
    outPos = pos;
  }

  private int bits(int n) throws IOException {
    if (bitCount < n) {
      refill();
      if (bitCount < n) {
        throw truncated();
      }
    }
    int v = (int) bitBuf & ((1 << n) - 1);
    bitBuf >>>= n;
    bitCount -= n;
    return v;
  }

  private int symbol(DclCodes.Code code) throws IOException {
    if (bitCount < code.maxLength) {
      refill();
    }
    int e = code.table[(int) bitBuf & ((1 << code.maxLength) - 1)];
    int len = e & 15;
    if (len > bitCount) {
      throw truncated();
    }
    bitBuf >>>= len;
    bitCount -= len;
    return e >>> 4;
  }

  /** Tops the bit buffer up to at least 57 bits, or to whatever is left of the input. */
  private void refill() throws IOException {
    while (bitCount <= 56) {
      if (inPos == inLimit && !readInput()) {
        return;
      }
      bitBuf |= (long) (inBuf[inPos++] & 0xFF) << bitCount;
      bitCount += 8;
    }
  }

  private int inByte() throws IOException {
    if (inPos == inLimit && !readInput()) {
      return -1;
    }
    return inBuf[inPos++] & 0xFF;
  }

  private boolean readInput() throws IOException {
    if (inEof) {
      return false;
    }
    int n = in.read(inBuf, 0, inBuf.length);
    while (n == 0) {
      n = in.read(inBuf, 0, inBuf.length);
    }
    if (n < 0) {
      inEof = true;
      return false;
    }
    inConsumed += n;
    inPos = 0;
    inLimit = n;
    return true;
  }

  private DbcFormatException truncated() {
    return new DbcFormatException(name + ": the compressed data ends before its end code (after "
        + inConsumed + " compressed bytes): the file is truncated; download it again");
  }

  private DbcFormatException corrupt(String what) {
    return new DbcFormatException(name + ": the compressed data is damaged (" + what + ", at compressed byte "
        + (inConsumed - inLimit + inPos) + "): download the file again");
  }
}
