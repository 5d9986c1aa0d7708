package org.warehouse.transforms.ingest;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The physical lines of a text stream, one at a time, as characters in a reused array: the same lines
 * as {@link BufferedReader#readLine()} (ended by {@code \n}, {@code \r} or {@code \r\n}; a last line
 * without an end counts), but for ISO-8859-1 and UTF-8 decoded straight from the bytes, without a
 * String per line (Reader, String and char[] were three copies of every line). Other charsets go through
 * a BufferedReader. LineReaderTest compares the lines with BufferedReader's on random bytes.
 *
 * <p>A line longer than {@code maxLineBytes} is never held whole: its first {@link #KEPT_BYTES} bytes
 * become the line, the rest is skipped while counting ({@link #longLineBytes} gives its length), so
 * memory stays bounded by the cap whatever the file holds. Single-byte encodings other than ISO-8859-1
 * are split the same way and decoded per line; multi-byte encodings other than UTF-8 (UTF-16...) go
 * through a BufferedReader, which reads a line whole.
 */
final class LineReader {
  /** How much of a line longer than the cap is kept (and decoded). */
  static final int KEPT_BYTES = 1024;

  private final InputStream in;
  private final Charset cs;
  private final boolean latin1;
  private final boolean utf8;
  private final BufferedReader other;
  private final int maxLineBytes;
  private byte[] buf = new byte[1 << 16];
  private int pos;
  private int limit;
  private boolean eof;
  /** The previous line ended with {@code \r}: a {@code \n} right after it belongs to that line end. */
  private boolean skipLf;

  /** The current line's characters are {@code chars[0, length)}. */
  char[] chars = new char[256];

  int length;

  /** 0, or the byte length of the current line when it was longer than the cap (only a prefix is in chars). */
  long longLineBytes;

  LineReader(InputStream in, Charset cs) {
    this(in, cs, Integer.MAX_VALUE);
  }

  LineReader(InputStream in, Charset cs, int maxLineBytes) {
    this.in = in;
    this.cs = cs;
    this.maxLineBytes = maxLineBytes;
    this.latin1 = cs.equals(StandardCharsets.ISO_8859_1);
    this.utf8 = cs.equals(StandardCharsets.UTF_8);
    this.other = latin1 || utf8 || splitsOnBytes(cs) ? null : new BufferedReader(new InputStreamReader(in, cs), 1 << 16);
  }

  /** A single-byte encoding whose line ends are the ASCII bytes: its lines can be split before decoding. */
  private static boolean splitsOnBytes(Charset cs) {
    return cs.canEncode() && cs.newEncoder().maxBytesPerChar() == 1.0f
        && Arrays.equals("\r\n".getBytes(cs), new byte[] {'\r', '\n'});
  }

  /** The size of the byte buffer (tests check that it stays bounded by the cap). */
  int bufferBytes() {
    return buf.length;
  }

  /** The current line as a String (for rejects and the Commons CSV path). */
  String line() {
    return new String(chars, 0, length);
  }

  /** Moves to the next line; false at the end of the stream. */
  boolean next() throws IOException {
    longLineBytes = 0;
    if (other != null) {
      String s = other.readLine();
      if (s == null) {
        return false;
      }
      set(s);
      return true;
    }
    if (skipLf) {
      while (pos == limit) {
        if (!fill()) {
          return false;
        }
      }
      skipLf = false;
      if (buf[pos] == '\n') {
        pos++;
      }
    }
    int scan = pos;
    while (true) {
      for (int i = scan; i < limit; i++) {
        byte b = buf[i];
        if (b == '\n' || b == '\r') {
          if (i - pos > maxLineBytes) {
            return skipLongLine();
          }
          decode(pos, i);
          pos = i + 1;
          skipLf = b == '\r';
          return true;
        }
      }
      int scanned = limit - pos;
      if (scanned > maxLineBytes) {
        return skipLongLine();
      }
      if (!fill()) {
        if (pos == limit) {
          return false;
        }
        if (limit - pos > maxLineBytes) {
          return skipLongLine();
        }
        decode(pos, limit); // the last line has no end
        pos = limit;
        return true;
      }
      scan = pos + scanned;
    }
  }

  /**
   * The current line is over the cap: keeps its first {@link #KEPT_BYTES} bytes (cut at a character
   * boundary in UTF-8) and skips the rest up to the line end without keeping it.
   */
  private boolean skipLongLine() throws IOException {
    int keep = pos + Math.min(KEPT_BYTES, limit - pos);
    while (utf8 && keep > pos && keep < limit && (buf[keep] & 0xC0) == 0x80) {
      keep--; // do not cut a UTF-8 sequence
    }
    decode(pos, keep);
    long bytes = 0;
    while (true) {
      for (int i = pos; i < limit; i++) {
        byte b = buf[i];
        if (b == '\n' || b == '\r') {
          longLineBytes = bytes + i - pos;
          pos = i + 1;
          skipLf = b == '\r';
          return true;
        }
      }
      bytes += limit - pos;
      pos = limit;
      if (!fill()) {
        longLineBytes = bytes;
        return true;
      }
    }
  }

  /** Reads more bytes after the unread ones (moved to the front; the buffer grows for a long line). */
  private boolean fill() throws IOException {
    if (eof) {
      return false;
    }
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, limit - pos);
      limit -= pos;
      pos = 0;
    }
    if (limit == buf.length) {
      buf = Arrays.copyOf(buf, buf.length * 2);
    }
    int n = in.read(buf, limit, buf.length - limit);
    if (n < 0) {
      eof = true;
      return false;
    }
    limit += n;
    return true;
  }

  private void decode(int from, int to) {
    int n = to - from;
    if (chars.length < n) {
      chars = new char[Math.max(n, chars.length * 2)];
    }
    char[] c = chars;
    byte[] b = buf;
    if (latin1) {
      for (int i = 0; i < n; i++) {
        c[i] = (char) (b[from + i] & 0xFF);
      }
      length = n;
      return;
    }
    if (!utf8) {
      set(new String(b, from, n, cs));
      return;
    }
    for (int i = 0; i < n; i++) {
      byte x = b[from + i];
      if (x < 0) { // not ASCII: let the JDK decode the line (malformed bytes become U+FFFD, as in a Reader)
        set(new String(b, from, n, cs));
        return;
      }
      c[i] = (char) x;
    }
    length = n;
  }

  private void set(String s) {
    int n = s.length();
    if (chars.length < n) {
      chars = new char[Math.max(n, chars.length * 2)];
    }
    s.getChars(0, n, chars, 0);
    length = n;
  }
}
