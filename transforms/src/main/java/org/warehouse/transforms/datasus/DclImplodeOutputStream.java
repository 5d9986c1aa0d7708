package org.warehouse.transforms.datasus;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.Objects;

/**
 * Compresses what is written to it into a PKWare DCL "implode" stream ({@link DclExplodeInputStream}
 * reads it back). Made for tests and benchmarks: greedy matching with short hash chains (or, with
 * {@code matches} off, literals only, which is valid DCL too), literals stored as 8 bits or Huffman-coded,
 * dictionary of 1, 2 or 4 KB. Memory is bounded: a 4 KB window, a 64 KB block and the hash tables.
 * {@link #close()} writes the end code and closes the underlying stream; {@link #finish()} only ends
 * the compressed stream.
 */
public final class DclImplodeOutputStream extends OutputStream {
  private static final int WINDOW = 4096;
  private static final int BLOCK = 1 << 16;
  private static final int MAX_MATCH = 518;
  private static final int MIN_HASHED = 3;
  private static final int HASH_BITS = 14;
  private static final int CHAIN = 16;
  /** A match this long ends the search (as zlib's nice_length): longer chains cost more than they gain. */
  private static final int NICE = 48;
  private static final int NONE = Integer.MIN_VALUE;
  private static final int[] LENGTH_SYMBOL = lengthSymbols();

  private final OutputStream out;
  private final boolean codedLiterals;
  private final int dictBits;
  private final int maxDistance;
  private final boolean matches;

  private final byte[] buf = new byte[WINDOW + BLOCK + MAX_MATCH];
  /** buf[0, pos) is encoded (its last WINDOW bytes are the window); buf[pos, limit) waits. */
  private int pos;
  private int limit;
  private final int[] head = new int[1 << HASH_BITS];
  private final int[] prev = new int[buf.length];
  private int lastDistance;

  private final byte[] outBuf = new byte[BLOCK];
  private int outPos;
  private long bitBuf;
  private int bitCount;
  private boolean finished;

  /**
   * @param codedLiterals Huffman-code the literals (header byte 1) instead of storing them as 8 bits (0)
   * @param dictBits 4, 5 or 6: a 1, 2 or 4 KB dictionary
   * @param matches look for repeated strings; false writes literals only
   */
  public DclImplodeOutputStream(OutputStream out, boolean codedLiterals, int dictBits, boolean matches)
      throws IOException {
    if (dictBits < 4 || dictBits > 6) {
      throw new IllegalArgumentException("dictBits must be 4, 5 or 6, not " + dictBits);
    }
    this.out = Objects.requireNonNull(out, "out");
    this.codedLiterals = codedLiterals;
    this.dictBits = dictBits;
    this.maxDistance = 64 << dictBits;
    this.matches = matches;
    Arrays.fill(head, NONE);
    outBuf[0] = (byte) (codedLiterals ? 1 : 0);
    outBuf[1] = (byte) dictBits;
    outPos = 2;
  }

  /** Literals stored as 8 bits, 4 KB dictionary, matching on: like the DATASUS files. */
  public DclImplodeOutputStream(OutputStream out) throws IOException {
    this(out, false, 6, true);
  }

  @Override
  public void write(int b) throws IOException {
    write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (finished) {
      throw new IOException("DCL stream already finished");
    }
    while (len > 0) {
      if (limit == buf.length) {
        encode(limit - MAX_MATCH);
        slide();
      }
      int n = Math.min(len, buf.length - limit);
      System.arraycopy(b, off, buf, limit, n);
      limit += n;
      off += n;
      len -= n;
    }
  }

  /** Encodes what is left, writes the end code and pads the last byte; the underlying stream stays open. */
  public void finish() throws IOException {
    if (finished) {
      return;
    }
    encode(limit);
    put(1, 1);
    putLength(DclCodes.END_LENGTH);
    while (bitCount > 0) {
      outBuf[outPos++] = (byte) bitBuf;
      bitBuf >>>= 8;
      bitCount = Math.max(0, bitCount - 8);
      flushIfFull();
    }
    out.write(outBuf, 0, outPos);
    outPos = 0;
    out.flush();
    finished = true;
  }

  @Override
  public void close() throws IOException {
    try {
      finish();
    } finally {
      out.close();
    }
  }

  /** Keeps the last WINDOW encoded bytes and the waiting ones, at the start of buf. */
  private void slide() {
    int delta = pos - WINDOW;
    if (delta <= 0) {
      return;
    }
    System.arraycopy(buf, delta, buf, 0, limit - delta);
    System.arraycopy(prev, delta, prev, 0, limit - delta);
    pos -= delta;
    limit -= delta;
    for (int i = 0; i < head.length; i++) {
      head[i] = head[i] == NONE || head[i] < delta ? NONE : head[i] - delta;
    }
    for (int i = 0; i < limit; i++) {
      prev[i] = prev[i] == NONE || prev[i] < delta ? NONE : prev[i] - delta;
    }
  }

  /** Encodes buf[pos, until); matches may look ahead up to limit. */
  private void encode(int until) throws IOException {
    while (pos < until) {
      int best = 0;
      int bestDistance = 0;
      if (matches && limit - pos >= MIN_HASHED) {
        int max = Math.min(MAX_MATCH, limit - pos);
        int h = hash(pos);
        int cand = head[h];
        for (int chain = CHAIN; cand != NONE && pos - cand <= maxDistance && chain > 0; chain--) {
          if (buf[cand + best] == buf[pos + best]) {
            int len = 0;
            while (len < max && buf[cand + len] == buf[pos + len]) {
              len++;
            }
            if (len > best) {
              best = len;
              bestDistance = pos - cand;
              if (len >= Math.min(max, NICE)) {
                break;
              }
            }
          }
          cand = prev[cand];
        }
      }
      if (best < MIN_HASHED) {
        best = 0;
        int d = lastDistance;
        if (matches && d > 0 && d <= 256 && d <= pos && limit - pos >= 2 && buf[pos] == buf[pos - d]
            && buf[pos + 1] == buf[pos + 1 - d]) {
          best = 2; // a two-byte copy (distance at most 256) at the previous copy's distance
          bestDistance = d;
        }
      }
      if (best == 0) {
        literal(buf[pos] & 0xFF);
        insert(pos);
        pos++;
        continue;
      }
      put(1, 1);
      putLength(best);
      int d = bestDistance - 1;
      int shift = best == 2 ? 2 : dictBits;
      DclCodes.Code dc = DclCodes.DISTANCES;
      put(dc.bits[d >> shift], dc.lengths[d >> shift]);
      put(d & ((1 << shift) - 1), shift);
      lastDistance = bestDistance;
      for (int end = pos + best; pos < end; pos++) {
        insert(pos);
      }
    }
  }

  private void insert(int p) {
    if (matches && limit - p >= MIN_HASHED) {
      int h = hash(p);
      prev[p] = head[h];
      head[h] = p;
    }
  }

  private int hash(int p) {
    int v = (buf[p] & 0xFF) << 16 | (buf[p + 1] & 0xFF) << 8 | (buf[p + 2] & 0xFF);
    return (v * 0x9E3779B1) >>> (32 - HASH_BITS);
  }

  private void literal(int b) throws IOException {
    if (codedLiterals) {
      put(0, 1);
      put(DclCodes.LITERALS.bits[b], DclCodes.LITERALS.lengths[b]);
    } else {
      put(b << 1, 9);
    }
  }

  private void putLength(int len) throws IOException {
    int s = LENGTH_SYMBOL[len];
    DclCodes.Code lc = DclCodes.LENGTHS;
    put(lc.bits[s], lc.lengths[s]);
    put(len - DclCodes.LENGTH_BASE[s], DclCodes.LENGTH_EXTRA[s]);
  }

  private void put(int v, int n) throws IOException {
    bitBuf |= (long) v << bitCount;
    bitCount += n;
    while (bitCount >= 8) {
      outBuf[outPos++] = (byte) bitBuf;
      bitBuf >>>= 8;
      bitCount -= 8;
      flushIfFull();
    }
  }

  private void flushIfFull() throws IOException {
    if (outPos == outBuf.length) {
      out.write(outBuf, 0, outPos);
      outPos = 0;
    }
  }

  private static int[] lengthSymbols() {
    int[] sym = new int[DclCodes.END_LENGTH + 1];
    for (int s = 0; s < DclCodes.LENGTH_BASE.length; s++) {
      int base = DclCodes.LENGTH_BASE[s];
      for (int len = base; len < base + (1 << DclCodes.LENGTH_EXTRA[s]) && len <= DclCodes.END_LENGTH; len++) {
        sym[len] = s;
      }
    }
    return sym;
  }
}
