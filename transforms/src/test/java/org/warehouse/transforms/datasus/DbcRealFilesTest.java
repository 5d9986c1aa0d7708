package org.warehouse.transforms.datasus;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.warehouse.transforms.datasus.DatasusFiles.RealFile;

/**
 * The five real DATASUS files: the decoder's output must match the CRC32 DATASUS stored in each (an
 * oracle the decoder does not compute), have the size the header says, and DbfReader must give the same
 * fields as plain fixed-width arithmetic on those bytes. Damaged copies must fail with one line naming
 * the file.
 */
public class DbcRealFilesTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static int le16(byte[] b, int at) {
    return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8;
  }

  private static long le32(byte[] b, int at) {
    return (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16 | (b[at + 3] & 0xFFL) << 24;
  }

  private static byte[] decompress(Path p) throws IOException {
    try (DbcInputStream in = DbcInputStream.open(p)) {
      byte[] b = in.readAllBytes();
      assertTrue(p + ": CRC32 verified at the end", in.verified());
      return b;
    }
  }

  @Test
  public void everyFileDecodesWithItsCrcAndTheHeadersSize() throws IOException {
    for (RealFile f : DatasusFiles.FILES) {
      byte[] file = Files.readAllBytes(f.path());
      byte[] dbf = decompress(f.path());
      int h = le16(file, 8);
      int r = le16(file, 10);
      long n = le32(file, 4);
      assertThat(f.name(), n, equalTo(f.records()));
      // the decoded header is the stored one
      for (int i = 0; i < h; i++) {
        assertThat(f.name() + " header byte " + i, dbf[i], equalTo(file[i]));
      }
      int marker = dbf[dbf.length - 1] == 0x1A ? 1 : 0;
      assertThat(f.name() + ": decompressed size", (long) dbf.length, equalTo(h + n * r + marker));
      java.util.zip.CRC32 crc = new java.util.zip.CRC32();
      crc.update(dbf);
      assertThat(f.name(), crc.getValue(), equalTo(le32(file, h)));
    }
  }

  @Test
  public void readerGivesTheFieldsAndRecordsOfTheReadme() throws IOException {
    for (RealFile f : DatasusFiles.FILES) {
      try (DbfReader r = DbfReader.open(f.path(), null)) {
        assertThat(f.name(), r.fields().size(), equalTo(f.fields()));
        assertThat(f.name(), r.declaredRecords(), equalTo(f.records()));
        long n = 0;
        while (r.next()) {
          n++;
          assertThat(r.recordNumber(), equalTo(n + r.deletedSkipped()));
        }
        assertThat(f.name(), n + r.deletedSkipped(), equalTo(f.records()));
        assertTrue(r.hasField("CODMUNRES") && r.hasField("DTNASC") && r.hasField("PESO"));
        assertThat(r.hasField("SEMAGESTAC"), equalTo(f.fields() >= 55));
        assertTrue(r.hasField("GESTACAO") && r.hasField("consultas"));
      }
    }
  }

  /** Every field of every record, by DbfReader and by fixed-width arithmetic on the decompressed bytes. */
  @Test
  public void readerAgreesWithFixedWidthArithmetic() throws IOException {
    for (RealFile f : DatasusFiles.FILES) {
      byte[] dbf = decompress(f.path());
      int h = le16(dbf, 8);
      int len = le16(dbf, 10);
      long n = le32(dbf, 4);
      List<String> names = new ArrayList<>();
      List<int[]> spans = new ArrayList<>(); // offset, width
      int offset = 1;
      for (int at = 32; dbf[at] != 0x0D; at += 32) {
        int e = at;
        while (e < at + 11 && dbf[e] != 0) {
          e++;
        }
        names.add(new String(dbf, at, e - at, StandardCharsets.ISO_8859_1));
        int width = dbf[at + 16] & 0xFF;
        spans.add(new int[] {offset, width});
        offset += width;
      }
      assertThat(offset, equalTo(len));
      long compared = 0;
      try (DbfReader r = DbfReader.open(f.path(), StandardCharsets.ISO_8859_1)) {
        for (long i = 0; i < n; i++) {
          int base = (int) (h + i * len);
          if (dbf[base] == '*') {
            continue;
          }
          assertTrue(f.name() + " record " + (i + 1), r.next());
          assertThat(r.recordNumber(), equalTo(i + 1));
          assertThat(r.rawRecord(), equalTo(new String(dbf, base + 1, len - 1, StandardCharsets.ISO_8859_1)));
          for (int k = 0; k < names.size(); k++) {
            String v = new String(dbf, base + spans.get(k)[0], spans.get(k)[1], StandardCharsets.ISO_8859_1).trim();
            assertThat(f.name() + " record " + (i + 1) + " " + names.get(k), r.field(names.get(k)),
                equalTo(v.isEmpty() ? null : v));
            compared++;
          }
        }
        assertTrue(!r.next());
      }
      assertThat(f.name(), compared, equalTo(n * names.size()));
    }
  }

  private Path copy(RealFile f, byte[] bytes) throws IOException {
    Path p = tmp.getRoot().toPath().resolve(f.name());
    Files.write(p, bytes);
    return p;
  }

  /** Reads every record; returns the failure's message. */
  private static String failure(Path p) {
    IOException e = assertThrows(DbcFormatException.class, () -> {
      try (DbfReader r = DbfReader.open(p, null)) {
        while (r.next()) {
          r.field(0);
        }
      }
    });
    String m = e.getMessage();
    assertThat(m, startsWith(p.getFileName() + ": "));
    assertThat(m, not(containsString("\n")));
    return m;
  }

  @Test
  public void aFlippedByteInTheCompressedDataFailsNamingTheFile() throws IOException {
    for (RealFile f : List.of(DatasusFiles.FILES.get(1), DatasusFiles.FILES.get(3), DatasusFiles.FILES.get(4))) {
      byte[] good = Files.readAllBytes(f.path());
      int start = le16(good, 8) + 6;
      for (int k = 0; k < 12; k++) {
        byte[] bad = good.clone();
        // not the last byte: its high bits may be padding after the end code
        int at = start + (int) ((long) (good.length - start - 2) * k / 11);
        bad[at] ^= (byte) (1 << (k % 8));
        String m = failure(copy(f, bad));
        assertThat(m, containsString("download"));
      }
      byte[] bad = good.clone();
      bad[le16(good, 8) + 1] ^= 0x40; // the stored CRC itself
      assertThat(failure(copy(f, bad)), containsString("CRC32 mismatch (stored 0x"));
    }
  }

  @Test
  public void aTruncatedFileFailsNamingTheFile() throws IOException {
    RealFile f = DatasusFiles.FILES.get(3);
    byte[] good = Files.readAllBytes(f.path());
    int h = le16(good, 8);
    for (int cut : new int[] {good.length - 1, good.length / 2, h + 7, h + 5, h + 2, h - 100, 20}) {
      byte[] bad = java.util.Arrays.copyOf(good, cut);
      assertThat("cut at " + cut, failure(copy(f, bad)), containsString("truncated"));
    }
  }

  @Test
  public void aWrongHeaderLengthFailsNamingTheFile() throws IOException {
    for (RealFile f : DatasusFiles.FILES) {
      byte[] good = Files.readAllBytes(f.path());
      int h = le16(good, 8);
      for (int wrong : new int[] {h + 1, h - 1, h + 32, h - 32, h + 2, 40}) {
        byte[] bad = good.clone();
        bad[8] = (byte) wrong;
        bad[9] = (byte) (wrong >> 8);
        String m = failure(copy(f, bad));
        assertThat("H " + wrong + ": " + m, m.contains("bytes 8-9") || m.contains("CRC32 mismatch"), equalTo(true));
      }
    }
  }

  @Test
  public void strayBytesAfterTheEndCodeAreIgnored() throws IOException {
    RealFile f = DatasusFiles.FILES.get(4);
    byte[] good = Files.readAllBytes(f.path());
    byte[] longer = java.util.Arrays.copyOf(good, good.length + 5);
    try (DbcInputStream in = new DbcInputStream(new ByteArrayInputStream(longer), f.name())) {
      in.readAllBytes();
      assertThat(in.strayBytes(), equalTo(5L));
      assertTrue(in.verified());
    }
  }

  @Test
  public void aDbcIsRecognisedByItsContentUnderAnotherName() throws IOException {
    RealFile f = DatasusFiles.FILES.get(4);
    Path p = tmp.getRoot().toPath().resolve("DNEX2022.bin");
    Files.copy(f.path(), p);
    try (DbfReader r = DbfReader.open(p, null); InputStream in = DbcInputStream.open(f.path())) {
      long n = 0;
      while (r.next()) {
        n++;
      }
      assertThat(n, equalTo(f.records()));
      assertThat(in.readAllBytes().length, equalTo(1985 + 683 * 224 + 1));
    }
  }
}
