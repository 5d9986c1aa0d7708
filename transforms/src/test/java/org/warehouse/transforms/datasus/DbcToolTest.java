package org.warehouse.transforms.datasus;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The bench tool: generate writes a .dbc of the size asked for, decode reads it; usage errors are 2. */
public class DbcToolTest {
  @Rule public TemporaryFolder tmp = new TemporaryFolder();

  @Test
  public void generatesAndDecodes() throws IOException {
    Path dir = tmp.getRoot().toPath();
    assertThat(DbcTool.run(new String[] {"generate", "--out=" + dir, "--mb=2", "--seed=3"}), equalTo(0));
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.toList();
    }
    assertThat(files.size(), equalTo(1));
    try (DbfReader r = DbfReader.open(files.get(0), null)) {
      assertThat(r.fields(), equalTo(SinascDbfLayout.FIELDS_2019));
      assertThat(r.declaredRecords(), equalTo((2_000_000L + 223) / 224));
    }
    assertThat(DbcTool.run(new String[] {"decode", "--repeat=2", files.get(0).toString()}), equalTo(0));
  }

  @Test
  public void usageErrorsAreTwo() throws IOException {
    assertThat(DbcTool.run(new String[] {}), equalTo(2));
    assertThat(DbcTool.run(new String[] {"generate", "--mb=1"}), equalTo(2));
    assertThat(DbcTool.run(new String[] {"decode"}), equalTo(2));
    assertThat(DbcTool.run(new String[] {"decode", "--bogus", "x.dbc"}), equalTo(2));
    assertThat(DbcTool.run(new String[] {"frobnicate"}), equalTo(2));
  }
}
