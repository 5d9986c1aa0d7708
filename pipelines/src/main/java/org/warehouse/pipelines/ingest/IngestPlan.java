package org.warehouse.pipelines.ingest;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.warehouse.transforms.ingest.LoadSinascFiles;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * What {@code scripts/run ingest} will do with each input file, decided from the ledger and the hashes
 * of the files it already knows: load a new name, skip an unchanged file, replace a changed one
 * ({@code --replace}) or refuse it. Nothing here reads a file or touches the database.
 */
public final class IngestPlan {
  /** What a run does with one file. */
  public enum Action {
    /** A name the ledger does not know: loaded under a new file_id. */
    LOAD,
    /** Known with the same SHA-256: already loaded, left alone. */
    SKIP,
    /** Known with another SHA-256 and {@code --replace}: its old rows are replaced in the file's transaction. */
    REPLACE,
    /** Known with another SHA-256 without {@code --replace}: the run loads nothing. */
    REFUSE
  }

  /** One matched input file: its path, the name the ledger knows it by (base name), its size. */
  public record InputFile(String path, String name, long bytes) {}

  /** The ledger's row for a known name. */
  public record LedgerEntry(long fileId, String sha256, Instant loadedAt) {}

  /**
   * One file's decision. {@code sha256}: the file's hash when the driver computed it (known names
   * only; a new file is hashed by its worker while read). {@code previous}: the ledger row, or null.
   */
  public record PlannedFile(InputFile file, Action action, long fileId, String sha256, LedgerEntry previous) {
    public String name() {
      return file.name();
    }

    /** "on 2026-12-01T10:00:00Z", when the ledger knows the file. */
    public String previousLoad() {
      return previous == null ? "" : "on " + previous.loadedAt();
    }
  }

  private final List<PlannedFile> files;

  private IngestPlan(List<PlannedFile> files) {
    this.files = List.copyOf(files);
  }

  /**
   * Decides per file. {@code ledger}: the rows of the names it knows; {@code hashes}: the SHA-256 of
   * those files as they are now; {@code newIds}: file_ids for the names the ledger does not know
   * (at least as many as there are), in the files' order.
   */
  public static IngestPlan of(List<InputFile> inputs, Map<String, LedgerEntry> ledger, Map<String, String> hashes,
      boolean replace, Iterator<Long> newIds) {
    List<PlannedFile> planned = new ArrayList<>();
    for (InputFile f : inputs) {
      LedgerEntry known = ledger.get(f.name());
      if (known == null) {
        planned.add(new PlannedFile(f, Action.LOAD, newIds.next(), null, null));
        continue;
      }
      String sha = hashes.get(f.name());
      Action a = known.sha256().equals(sha) ? Action.SKIP : replace ? Action.REPLACE : Action.REFUSE;
      planned.add(new PlannedFile(f, a, known.fileId(), sha, known));
    }
    return new IngestPlan(planned);
  }

  /** Sorted by name; two inputs with one base name are an error (the ledger knows files by name). */
  public static List<InputFile> byName(List<InputFile> inputs) {
    Map<String, String> seen = new HashMap<>();
    for (InputFile f : inputs) {
      String other = seen.put(f.name(), f.path());
      if (other != null) {
        throw new WarehouseException("two input files share the name " + f.name() + " (" + other + ", " + f.path()
            + "): the ledger knows files by name; rename one");
      }
    }
    List<InputFile> sorted = new ArrayList<>(inputs);
    sorted.sort((a, b) -> a.name().compareTo(b.name()));
    return sorted;
  }

  /** How many names the ledger does not know (the file_ids to draw). */
  public static long newNames(List<InputFile> inputs, Map<String, LedgerEntry> ledger) {
    return inputs.stream().filter(f -> !ledger.containsKey(f.name())).count();
  }

  public List<PlannedFile> files() {
    return files;
  }

  /** The files this run reads (LOAD and REPLACE). */
  public List<PlannedFile> toRead() {
    return files.stream().filter(f -> f.action() == Action.LOAD || f.action() == Action.REPLACE)
        .collect(Collectors.toList());
  }

  public long count(Action a) {
    return files.stream().filter(f -> f.action() == a).count();
  }

  /** Throws when a changed file has no {@code --replace} (the run then loads nothing). */
  public void requireNoRefusal() {
    List<String> refused = files.stream().filter(f -> f.action() == Action.REFUSE)
        .map(f -> f.name() + " (loaded " + f.previousLoad() + " with sha256 " + f.previous().sha256().substring(0, 12)
            + "…, now " + f.sha256().substring(0, 12) + "…)")
        .collect(Collectors.toList());
    if (!refused.isEmpty()) {
      throw new WarehouseException("changed file(s) under an already loaded name: " + String.join("; ", refused)
          + ": pass --replace to replace their rows, or give the new export a new name; nothing loaded");
    }
  }

  /** What each file's worker needs: its id, its planned hash (known names), its size, whether it replaces. */
  public Map<String, LoadSinascFiles.PlannedLoad> loads() {
    Map<String, LoadSinascFiles.PlannedLoad> m = new HashMap<>();
    for (PlannedFile f : toRead()) {
      m.put(f.name(), new LoadSinascFiles.PlannedLoad(f.fileId(), f.sha256(), f.file().bytes(),
          f.action() == Action.REPLACE));
    }
    return m;
  }
}
