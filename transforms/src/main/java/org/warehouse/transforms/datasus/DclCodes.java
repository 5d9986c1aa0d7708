package org.warehouse.transforms.datasus;

/**
 * The fixed Huffman codes of the PKWare Data Compression Library's "implode" format (the tables of
 * Mark Adler's blast.c: literal, length and distance codes given as compact lists of code lengths),
 * turned into what a table-driven decoder and an encoder need.
 *
 * <p>The format reads bits least significant first; a Huffman code is sent with its first bit being
 * the most significant bit of the canonical code, inverted. {@link Code#bits} holds, for each symbol,
 * the code as it appears in the bit stream (first bit in bit 0), so the encoder writes it with a plain
 * "n bits, LSB first" and the decoder looks it up by the next {@link Code#maxLength} bits.
 */
final class DclCodes {
  /** Lengths 2..518 as base[symbol] + extra bits; 519 (symbol 15, extra all ones) is the end code. */
  static final int[] LENGTH_BASE = {3, 2, 4, 5, 6, 7, 8, 9, 10, 12, 16, 24, 40, 72, 136, 264};

  static final int[] LENGTH_EXTRA = {0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8};

  static final int END_LENGTH = 519;

  static final Code LITERALS = new Code(new int[] {
      11, 124, 8, 7, 28, 7, 188, 13, 76, 4, 10, 8, 12, 10, 12, 10, 8, 23, 8,
      9, 7, 6, 7, 8, 7, 6, 55, 8, 23, 24, 12, 11, 7, 9, 11, 12, 6, 7, 22, 5,
      7, 24, 6, 11, 9, 6, 7, 22, 7, 11, 38, 7, 9, 8, 25, 11, 8, 11, 9, 12,
      8, 12, 5, 38, 5, 38, 5, 11, 7, 5, 6, 21, 6, 10, 53, 8, 7, 24, 10, 27,
      44, 253, 253, 253, 252, 252, 252, 13, 12, 45, 12, 45, 12, 61, 12, 45,
      44, 173});

  static final Code LENGTHS = new Code(new int[] {2, 35, 36, 53, 38, 23});

  static final Code DISTANCES = new Code(new int[] {2, 20, 53, 230, 247, 151, 248});

  private DclCodes() {}

  /** One fixed prefix code. */
  static final class Code {
    /** Longest code length in bits. */
    final int maxLength;
    /** Per symbol: the code's bits in stream order (first bit in bit 0). */
    final int[] bits;
    /** Per symbol: the code's length in bits. */
    final int[] lengths;
    /** By the next maxLength bits of the stream: symbol << 4 | code length. */
    final int[] table;

    Code(int[] compact) {
      int n = 0;
      for (int c : compact) {
        n += (c >> 4) + 1;
      }
      lengths = new int[n];
      int s = 0;
      for (int c : compact) {
        for (int r = (c >> 4) + 1; r > 0; r--) {
          lengths[s++] = c & 15;
        }
      }
      int max = 0;
      for (int len : lengths) {
        max = Math.max(max, len);
      }
      maxLength = max;
      int[] count = new int[max + 1];
      for (int len : lengths) {
        count[len]++;
      }
      int[] next = new int[max + 1]; // canonical: shorter codes first, symbols in order within a length
      int code = 0;
      for (int len = 1; len <= max; len++) {
        next[len] = code;
        code = (code + count[len]) << 1;
      }
      bits = new int[n];
      table = new int[1 << max];
      for (int sym = 0; sym < n; sym++) {
        int len = lengths[sym];
        int canonical = next[len]++;
        int stream = Integer.reverse(~canonical & ((1 << len) - 1)) >>> (32 - len);
        bits[sym] = stream;
        for (int fill = stream; fill < table.length; fill += 1 << len) {
          table[fill] = sym << 4 | len;
        }
      }
      for (int e : table) {
        if ((e & 15) == 0) {
          throw new IllegalStateException("incomplete prefix code"); // the fixed tables are complete
        }
      }
    }
  }
}
