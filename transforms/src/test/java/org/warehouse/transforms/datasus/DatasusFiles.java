package org.warehouse.transforms.datasus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The real DATASUS .dbc files the tests read (never copied into the repository): the directory named by
 * the environment variable WH_DATASUS_DIR, else the first {@code shared/data/datasus} found beside the
 * working directory or one of its parents (the repository is cloned next to {@code shared/}).
 */
public final class DatasusFiles {
  /** One shared file and what its README says about it. */
  public record RealFile(String name, long records, int fields) {
    public Path path() {
      return dir().resolve(name);
    }
  }

  public static final List<RealFile> FILES = List.of(
      new RealFile("DNAM1996.DBC", 49_112, 21),
      new RealFile("DNAP2005.dbc", 14_205, 26),
      new RealFile("DNAC2010.DBC", 16_495, 55),
      new RealFile("DNAP2019.dbc", 15_356, 61),
      new RealFile("DNEX2022.dbc", 683, 61));

  private DatasusFiles() {}

  /** The directory; an AssertionError saying where it was looked for when there is none. */
  public static Path dir() {
    String env = System.getenv("WH_DATASUS_DIR");
    if (env != null && !env.isBlank()) {
      Path p = Path.of(env);
      if (!Files.isDirectory(p)) {
        throw new AssertionError("WH_DATASUS_DIR=" + env + " is not a directory");
      }
      return p;
    }
    for (Path at = Path.of("").toAbsolutePath(); at != null; at = at.getParent()) {
      Path p = at.resolve("shared/data/datasus");
      if (Files.isDirectory(p)) {
        return p;
      }
    }
    throw new AssertionError("no shared/data/datasus beside " + Path.of("").toAbsolutePath()
        + " or its parents: set WH_DATASUS_DIR to the directory of the real .dbc files");
  }
}
