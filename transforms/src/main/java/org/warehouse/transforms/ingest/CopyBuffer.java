package org.warehouse.transforms.ingest;

import java.util.Arrays;

/**
 * A growable byte buffer holding a chunk of COPY data, written without intermediate Strings: whole rows
 * in PostgreSQL's text format (UTF-8, escaped, each ended by a newline) or in its binary format
 * (big-endian; the writer sends the binary file header and trailer around a COPY statement's chunks).
 */
final class CopyBuffer {
  /** "PGCOPY\n\377\r\n\0", flags 0, header extension length 0: begins binary COPY data. */
  static final byte[] BINARY_HEADER = {
    'P', 'G', 'C', 'O', 'P', 'Y', '\n', (byte) 0xFF, '\r', '\n', 0, 0, 0, 0, 0, 0, 0, 0, 0
  };

  /** Days from 1970-01-01 (epoch day) to 2000-01-01 (PostgreSQL's date zero). */
  static final int PG_EPOCH_DAY = 10957;

  byte[] buf;
  int len;
  int rows;

  CopyBuffer(int capacity) {
    buf = new byte[capacity];
  }

  void clear() {
    len = 0;
    rows = 0;
  }

  private void ensure(int more) {
    if (len + more > buf.length) {
      buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
    }
  }

  /** A field count of -1: ends binary COPY data. */
  static final byte[] BINARY_TRAILER = {-1, -1};

  // ---- binary format

  /** Starts a binary row of {@code fields} fields. */
  void binaryRow(int fields) {
    rows++;
    int16(fields);
  }

  void int16(int v) {
    ensure(2);
    buf[len++] = (byte) (v >>> 8);
    buf[len++] = (byte) v;
  }

  void int32(int v) {
    ensure(4);
    buf[len++] = (byte) (v >>> 24);
    buf[len++] = (byte) (v >>> 16);
    buf[len++] = (byte) (v >>> 8);
    buf[len++] = (byte) v;
  }

  void binaryNull() {
    int32(-1);
  }

  void binaryBigint(long v) {
    int32(8);
    int32((int) (v >>> 32));
    int32((int) v);
  }

  void binaryInt(int v) {
    int32(4);
    int32(v);
  }

  void binarySmallint(int v) {
    int32(2);
    int16(v);
  }

  /** A date given as an epoch day. */
  void binaryDate(int epochDay) {
    binaryInt(epochDay - PG_EPOCH_DAY);
  }

  // ---- text format

  /** Ends a text row. */
  void endTextRow() {
    ascii('\n');
    rows++;
  }

  void ascii(char c) {
    ensure(1);
    buf[len++] = (byte) c;
  }

  void number(long v) {
    if (v < 0) {
      ascii('-');
      v = -v;
    }
    ensure(20);
    int digits = 1;
    for (long x = v; x >= 10; x /= 10) {
      digits++;
    }
    for (int i = len + digits - 1; i >= len; i--) {
      buf[i] = (byte) ('0' + (v % 10));
      v /= 10;
    }
    len += digits;
  }

  /** s[from, to) escaped for COPY text (backslash, tab, newline, carriage return) and encoded as UTF-8. */
  void escaped(char[] s, int from, int to) {
    ensure((to - from) * 3 + 2);
    for (int i = from; i < to; i++) {
      char c = s[i];
      if (c < 0x80) {
        switch (c) {
          case '\\': buf[len++] = '\\'; buf[len++] = '\\'; break;
          case '\t': buf[len++] = '\\'; buf[len++] = 't'; break;
          case '\n': buf[len++] = '\\'; buf[len++] = 'n'; break;
          case '\r': buf[len++] = '\\'; buf[len++] = 'r'; break;
          default: buf[len++] = (byte) c;
        }
      } else if (c < 0x800) {
        buf[len++] = (byte) (0xC0 | (c >> 6));
        buf[len++] = (byte) (0x80 | (c & 0x3F));
      } else if (Character.isHighSurrogate(c) && i + 1 < to && Character.isLowSurrogate(s[i + 1])) {
        int cp = Character.toCodePoint(c, s[++i]);
        buf[len++] = (byte) (0xF0 | (cp >> 18));
        buf[len++] = (byte) (0x80 | ((cp >> 12) & 0x3F));
        buf[len++] = (byte) (0x80 | ((cp >> 6) & 0x3F));
        buf[len++] = (byte) (0x80 | (cp & 0x3F));
      } else {
        if (Character.isSurrogate(c)) {
          c = '\uFFFD'; // a lone surrogate has no UTF-8 form
        }
        buf[len++] = (byte) (0xE0 | (c >> 12));
        buf[len++] = (byte) (0x80 | ((c >> 6) & 0x3F));
        buf[len++] = (byte) (0x80 | (c & 0x3F));
      }
    }
  }
}
