package org.warehouse.transforms.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;

/** LineReader must give exactly BufferedReader's lines: birth_id is built from the line number. */
public class LineReaderTest {
  private static final byte[] ALPHABET = {
    '\n', '\r', ';', '"', 'a', '1', ' ', (byte) 0xE7, (byte) 0xC3, (byte) 0xA7, (byte) 0xFF, (byte) 0x80, 0
  };

  @Test
  public void givesBufferedReadersLinesForRandomBytesReadInRandomPieces() throws IOException {
    Random rnd = new Random(7);
    int lines = 0;
    for (int round = 0; round < 3000; round++) {
      byte[] data = new byte[rnd.nextInt(round < 2900 ? 64 : 300_000)];
      for (int i = 0; i < data.length; i++) {
        data[i] = ALPHABET[rnd.nextInt(ALPHABET.length)];
      }
      for (Charset cs : List.of(StandardCharsets.ISO_8859_1, StandardCharsets.UTF_8, Charset.forName("windows-1252"))) {
        List<String> expected = bufferedReaderLines(data, cs);
        List<String> actual = new ArrayList<>();
        LineReader r = new LineReader(new Pieces(new ByteArrayInputStream(data), rnd.nextInt(9) + 1), cs);
        while (r.next()) {
          actual.add(r.line());
        }
        assertThat(cs + " round " + round, actual, equalTo(expected));
        lines += actual.size();
      }
    }
    assertThat(lines, greaterThan(10_000));
  }

  @Test
  public void endsOfLinesAtTheEndOfTheStream() throws IOException {
    for (String s : List.of("", "a", "a\n", "a\r", "a\r\n", "\r\n\r\n", "\n\n", "a\rb\r\nc\n\rd", "\r",
        "x".repeat(200_000) + "\r\ny\n" + "z".repeat(70_000))) { // lines longer than the read buffer
      byte[] data = s.getBytes(StandardCharsets.ISO_8859_1);
      List<String> actual = new ArrayList<>();
      LineReader r = new LineReader(new ByteArrayInputStream(data), StandardCharsets.ISO_8859_1);
      while (r.next()) {
        actual.add(r.line());
      }
      assertThat(s.length() > 20 ? "long lines" : s.replace("\r", "\\r").replace("\n", "\\n"), actual,
          equalTo(bufferedReaderLines(data, StandardCharsets.ISO_8859_1)));
    }
  }

  /**
   * A 50 MB line among short ones, streamed (never in memory here): with a 1 MB cap the reader keeps the
   * line's first KB, counts its length, gives the lines around it unchanged, and its buffers stay under
   * 2 MB + 64 KB (the line whole would take 50 MB of bytes and 100 MB of chars).
   */
  @Test
  public void aLineOverTheCapKeepsItsFirstKilobyteAndMemoryStaysBounded() throws IOException {
    int cap = 1 << 20;
    long longBytes = 50L << 20;
    for (Charset cs : List.of(StandardCharsets.ISO_8859_1, StandardCharsets.UTF_8, Charset.forName("windows-1252"))) {
      InputStream in = new java.io.SequenceInputStream(java.util.Collections.enumeration(List.of(
          new ByteArrayInputStream("first;line\r\n".getBytes(cs)), new Repeated((byte) 'x', longBytes),
          new ByteArrayInputStream("\r\nlast;line".getBytes(cs)))));
      LineReader r = new LineReader(new Pieces(in, 1 << 16), cs, cap);
      List<String> lines = new ArrayList<>();
      List<Long> longs = new ArrayList<>();
      while (r.next()) {
        lines.add(r.line());
        longs.add(r.longLineBytes);
      }
      assertThat(cs.name(), lines, equalTo(List.of("first;line", "x".repeat(LineReader.KEPT_BYTES), "last;line")));
      assertThat(cs.name(), longs, equalTo(List.of(0L, longBytes, 0L)));
      assertThat(cs.name() + " byte buffer", r.bufferBytes() <= 2 * cap + (1 << 16), equalTo(true));
      assertThat(cs.name() + " char buffer", r.chars.length <= 2 * LineReader.KEPT_BYTES, equalTo(true));
    }
  }

  /** A line of exactly the cap is a normal line; one byte more is cut, also when it is the last line. */
  @Test
  public void theCapIsInclusiveAndAppliesToTheLastLine() throws IOException {
    int cap = 2048;
    String exact = "y".repeat(cap);
    String over = "z".repeat(cap + 1);
    LineReader r = new LineReader(new ByteArrayInputStream((exact + "\n" + over).getBytes(StandardCharsets.UTF_8)),
        StandardCharsets.UTF_8, cap);
    assertThat(r.next(), equalTo(true));
    assertThat(r.line(), equalTo(exact));
    assertThat(r.longLineBytes, equalTo(0L));
    assertThat(r.next(), equalTo(true));
    assertThat(r.line(), equalTo("z".repeat(LineReader.KEPT_BYTES)));
    assertThat(r.longLineBytes, equalTo((long) cap + 1));
    assertThat(r.next(), equalTo(false));
  }

  /** {@code n} copies of one byte, generated as read. */
  private static final class Repeated extends InputStream {
    private final byte b;
    private long left;

    Repeated(byte b, long n) {
      this.b = b;
      this.left = n;
    }

    @Override
    public int read() {
      if (left == 0) {
        return -1;
      }
      left--;
      return b & 0xFF;
    }

    @Override
    public int read(byte[] buf, int off, int len) {
      if (left == 0) {
        return -1;
      }
      int n = (int) Math.min(len, left);
      java.util.Arrays.fill(buf, off, off + n, b);
      left -= n;
      return n;
    }
  }

  private static List<String> bufferedReaderLines(byte[] data, Charset cs) throws IOException {
    List<String> out = new ArrayList<>();
    BufferedReader br = new BufferedReader(new InputStreamReader(new ByteArrayInputStream(data), cs));
    for (String line; (line = br.readLine()) != null; ) {
      out.add(line);
    }
    return out;
  }

  /** Returns at most {@code max} bytes per read, so that lines and \r\n pairs cross the reader's refills. */
  private static final class Pieces extends FilterInputStream {
    private final int max;

    Pieces(InputStream in, int max) {
      super(in);
      this.max = max;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      return super.read(b, off, Math.min(len, max));
    }
  }
}
