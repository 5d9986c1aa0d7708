package org.warehouse.pipelines.ingest;

import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.EmptyMatchTreatment;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.options.PipelineOptions;
import org.warehouse.transforms.ingest.LoadSinascFiles;
import org.warehouse.transforms.jdbc.WarehouseException;

/** The input files of a run: the glob expanded (Beam FileSystems), and the SHA-256 of the known ones. */
final class IngestInputs {
  private IngestInputs() {}

  /** Expands the glob: the files, sorted by name; none is an error naming the glob (and a directory gets one). */
  static List<IngestPlan.InputFile> match(PipelineOptions o, String input) throws Exception {
    FileSystems.setDefaultPipelineOptions(o);
    MatchResult m = FileSystems.match(input, EmptyMatchTreatment.ALLOW);
    List<IngestPlan.InputFile> files = new ArrayList<>();
    if (m.status() == MatchResult.Status.OK) {
      for (MatchResult.Metadata md : m.metadata()) {
        if (!md.resourceId().isDirectory()) {
          String path = md.resourceId().toString();
          files.add(new IngestPlan.InputFile(path, LoadSinascFiles.fileName(path), md.sizeBytes()));
        }
      }
    }
    if (files.isEmpty()) {
      boolean directory = !input.contains("*") && !input.contains("?") && Files.isDirectory(Path.of(input));
      throw new WarehouseException("no file matches --input=" + input + (directory
          ? ": it is a directory; give a glob of its files, e.g. --input='" + input.replaceAll("/+$", "") + "/*.csv*'"
          : ": check the path or glob"));
    }
    return IngestPlan.byName(files);
  }

  /**
   * The SHA-256 of these files' bytes as stored, in parallel, by name. Only the files whose name the
   * ledger knows are hashed here: a new file is hashed by its worker in the same pass that parses it.
   */
  static Map<String, String> sha256(List<IngestPlan.InputFile> files) {
    Map<String, String> hashes = new ConcurrentHashMap<>();
    files.parallelStream().forEach(f -> hashes.put(f.name(), sha256(f.path())));
    return hashes;
  }

  private static String sha256(String path) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      try (InputStream in = Channels.newInputStream(FileSystems.open(FileSystems.matchNewResource(path, false)))) {
        int n;
        while ((n = in.read(buf)) >= 0) {
          md.update(buf, 0, n);
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (Exception e) {
      throw new WarehouseException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }
}
