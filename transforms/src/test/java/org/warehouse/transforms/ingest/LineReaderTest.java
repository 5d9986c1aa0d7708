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
