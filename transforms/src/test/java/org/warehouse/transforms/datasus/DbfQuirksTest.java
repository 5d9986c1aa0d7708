package org.warehouse.transforms.datasus;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * Header variants seen in DATASUS files, made from a real file: the field descriptors not ended by
 * 0x0D, or with an extra 0x00 before the 0x0D (also where a 33rd byte would start a descriptor), or
 * bytes after the 0x0D; as .dbc (re-compressed, new CRC32) and as plain .dbf.
 * The reader must give the same fields and values as for the original.
 */
public class DbfQuirksTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  private static List<List<String>> read(Path p) throws IOException {
    List<List<String>> rows = new ArrayList<>();
    try (DbfReader r = DbfReader.open(p, null)) {
      List<String> names = new ArrayList<>();
      r.fields().forEach(f -> names.add(f.name()));
      rows.add(names);
      while (r.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
          row.add(r.field(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  /** The dbf with its header's tail (from the 0x0D on) replaced by {@code tail}. */
  private static byte[] withHeaderTail(byte[] dbf, byte[] tail) {
    int h = (dbf[8] & 0xFF) | (dbf[9] & 0xFF) << 8;
    int nh = h - 1 + tail.length;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(dbf, 0, h - 1);
    out.write(tail, 0, tail.length);
    out.write(dbf, h, dbf.length - h);
    byte[] b = out.toByteArray();
    b[8] = (byte) nh;
    b[9] = (byte) (nh >> 8);
    return b;
  }

  private static byte[] dbc(byte[] dbf) throws IOException {
    int h = (dbf[8] & 0xFF) | (dbf[9] & 0xFF) << 8;
    CRC32 crc = new CRC32();
    crc.update(dbf);
    long c = crc.getValue();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(dbf, 0, h);
    out.write(new byte[] {(byte) c, (byte) (c >> 8), (byte) (c >> 16), (byte) (c >> 24)});
    try (DclImplodeOutputStream z = new DclImplodeOutputStream(out)) {
      z.write(dbf, h, dbf.length - h);
    }
    return out.toByteArray();
  }

  @Test
  public void noTerminatorAndAnExtraZeroReadLikeTheOriginal() throws IOException {
    DatasusFiles.RealFile f = DatasusFiles.FILES.get(1);
    List<List<String>> expected = read(f.path());
    byte[] dbf;
    try (DbcInputStream in = DbcInputStream.open(f.path())) {
      dbf = in.readAllBytes();
    }
    assertThat(dbf[((dbf[8] & 0xFF) | (dbf[9] & 0xFF) << 8) - 1], equalTo((byte) 0x0D));
    int k = 0;
    byte[] zeros = new byte[41]; // a 0x00 where a descriptor could start, the 0x0D 40 bytes later
    zeros[40] = 0x0D;
    for (byte[] tail : List.of(new byte[0], new byte[] {0, 0x0D}, new byte[] {0x0D, 0, 0}, zeros)) {
      byte[] variant = withHeaderTail(dbf, tail);
      Path plain = tmp.getRoot().toPath().resolve("v" + k + ".dbf");
      Path packed = tmp.getRoot().toPath().resolve("v" + k + ".dbc");
      Files.write(plain, variant);
      Files.write(packed, dbc(variant));
      assertThat("tail " + Arrays.toString(tail), read(plain), equalTo(expected));
      assertThat("tail " + Arrays.toString(tail), read(packed), equalTo(expected));
      k++;
    }
    assertTrue(expected.size() > 14_000);
    assertFalse(expected.get(0).isEmpty());
  }
}
