package org.warehouse.transforms.datasus;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThan;
import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Encoder and decoder against each other: the .dbc's decompressed bytes must equal the plain .dbf of the
 * same records byte for byte, for every form of the compressed stream (8-bit or Huffman-coded literals,
 * 1/2/4 KB dictionaries, with and without matches), and DbfReader must give the values written.
 */
public class DbcWriterTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static final String ALPHABET = "  0123456789ABCXYZabcxyz ÇÃÉçãéõ-./";

  private static byte[] explode(byte[] compressed) throws IOException {
    try (InputStream in = new DclExplodeInputStream(new ByteArrayInputStream(compressed), "test")) {
      return in.readAllBytes();
    }
  }

  private static byte[] implode(byte[] data, boolean coded, int dict, boolean matches) throws IOException {
    ByteArrayOutputStream bo = new ByteArrayOutputStream();
    try (DclImplodeOutputStream out = new DclImplodeOutputStream(bo, coded, dict, matches)) {
      out.write(data);
    }
    return bo.toByteArray();
  }

  @Test
  public void bytesRoundTripInEveryFormOfTheStream() throws IOException {
    Random rnd = new Random(17);
    List<byte[]> inputs = new ArrayList<>();
    inputs.add(new byte[0]);
    inputs.add(new byte[] {42});
    byte[] random = new byte[200_000];
    rnd.nextBytes(random);
    inputs.add(random);
    inputs.add(new byte[300_000]); // one long run: copies of 518 at distance 1
    byte[] text = new byte[250_000]; // few symbols, repeats at every distance up to 4 KB and beyond
    for (int i = 0; i < text.length; i++) {
      text[i] = i > 6000 && rnd.nextInt(4) > 0 ? text[i - 1 - rnd.nextInt(6000)] : (byte) "ab c1\u00e7".charAt(rnd.nextInt(6));
    }
    inputs.add(text);
    for (byte[] in : inputs) {
      for (boolean coded : new boolean[] {false, true}) {
        for (int dict = 4; dict <= 6; dict++) {
          for (boolean matches : new boolean[] {false, true}) {
            byte[] c = implode(in, coded, dict, matches);
            assertArrayEquals("len " + in.length + " coded " + coded + " dict " + dict + " matches " + matches,
                in, explode(c));
            if (matches && in.length == 300_000) {
              assertThat(c.length, lessThan(in.length / 100));
            }
          }
        }
      }
    }
  }

  @Test
  public void readingInPiecesGivesTheSameBytes() throws IOException {
    Random rnd = new Random(3);
    byte[] data = new byte[150_000];
    for (int i = 0; i < data.length; i++) {
      data[i] = (byte) (i > 100 && rnd.nextBoolean() ? data[i - 1 - rnd.nextInt(100)] : rnd.nextInt(256));
    }
    byte[] c = implode(data, true, 6, true);
    ByteArrayOutputStream got = new ByteArrayOutputStream();
    try (InputStream in = new DclExplodeInputStream(new ByteArrayInputStream(c), "test")) {
      byte[] buf = new byte[1000];
      while (true) {
        int want = rnd.nextInt(1000);
        if (want == 0) {
          int b = in.read();
          if (b < 0) {
            break;
          }
          got.write(b);
          continue;
        }
        int n = in.read(buf, 0, want);
        if (n < 0) {
          break;
        }
        got.write(buf, 0, n);
      }
    }
    assertArrayEquals(data, got.toByteArray());
  }

  @Test
  public void recordsRoundTripWithDeletedFlags() throws IOException {
    Random rnd = new Random(29);
    for (int round = 0; round < 12; round++) {
      int nf = 1 + rnd.nextInt(40);
      List<String> names = new ArrayList<>();
      int[] lengths = new int[nf];
      for (int i = 0; i < nf; i++) {
        names.add("F" + i);
        lengths[i] = 1 + rnd.nextInt(rnd.nextBoolean() ? 8 : 60);
      }
      List<DbfField> fields = DbcWriter.characterFields(names, lengths);
      int n = rnd.nextInt(round == 0 ? 1 : 3000);
      List<String[]> records = new ArrayList<>();
      boolean[] deleted = new boolean[n];
      for (int r = 0; r < n; r++) {
        String[] v = new String[nf];
        for (int i = 0; i < nf; i++) {
          int w = rnd.nextInt(lengths[i] + 1);
          StringBuilder sb = new StringBuilder();
          for (int k = 0; k < w; k++) {
            sb.append(ALPHABET.charAt(rnd.nextInt(ALPHABET.length())));
          }
          v[i] = rnd.nextInt(5) == 0 ? null : sb.toString();
        }
        records.add(v);
        deleted[r] = rnd.nextInt(7) == 0;
      }
      boolean coded = rnd.nextBoolean();
      int dict = 4 + rnd.nextInt(3);
      boolean matches = rnd.nextInt(4) > 0;
      boolean marker = rnd.nextBoolean();
      Path dbc = tmp.newFile("r" + round + ".dbc").toPath();
      Path dbf = tmp.newFile("r" + round + ".dbf").toPath();
      try (DbcWriter a = DbcWriter.to(dbc, fields, n).compression(coded, dict, matches).endMarker(marker).open();
          DbcWriter b = DbcWriter.to(dbf, fields, n).plainDbf().endMarker(marker).open()) {
        for (int r = 0; r < n; r++) {
          a.write(deleted[r], records.get(r));
          b.write(deleted[r], records.get(r));
        }
      }
      byte[] plain = Files.readAllBytes(dbf);
      int recLen = 1;
      for (int l : lengths) {
        recLen += l;
      }
      assertThat((long) plain.length, equalTo(32L + 32 * nf + 1 + (long) n * recLen + (marker ? 1 : 0)));
      try (DbcInputStream in = DbcInputStream.open(dbc)) {
        assertArrayEquals("round " + round, plain, in.readAllBytes());
        assertTrue(in.verified());
      }
      for (Path p : List.of(dbc, dbf)) {
        try (DbfReader r = DbfReader.open(p, StandardCharsets.ISO_8859_1)) {
          assertThat(r.fields(), equalTo(fields));
          int deletedCount = 0;
          for (int i = 0; i < n; i++) {
            if (deleted[i]) {
              deletedCount++;
              continue;
            }
            assertTrue(r.next());
            assertThat(r.recordNumber(), equalTo(i + 1L));
            for (int k = 0; k < nf; k++) {
              String v = records.get(i)[k] == null ? "" : records.get(i)[k].trim();
              assertThat(r.field("f" + k), equalTo(v.isEmpty() ? null : v));
            }
          }
          assertFalse(r.next());
          assertThat(r.deletedSkipped(), equalTo((long) deletedCount));
        }
      }
    }
  }

  @Test
  public void theWriterRefusesWhatItCannotWriteFaithfully() throws IOException {
    List<DbfField> fields = DbcWriter.characterFields(List.of("A", "B"), new int[] {2, 3});
    Path p = tmp.newFile("x.dbc").toPath();
    DbcWriter w = DbcWriter.to(p, fields, 1).open();
    assertThrows(IllegalArgumentException.class, () -> w.write("abc", "x"));
    assertThrows(IllegalArgumentException.class, () -> w.write("a"));
    w.write("ab", "xyz");
    assertThrows(IllegalStateException.class, () -> w.write("ab", "xyz"));
    w.close();
    DbcWriter short1 = DbcWriter.to(p, fields, 2).open();
    short1.write("a", "b");
    assertThrows(IllegalStateException.class, short1::close);
  }
}
