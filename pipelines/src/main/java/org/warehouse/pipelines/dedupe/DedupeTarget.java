package org.warehouse.pipelines.dedupe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * One table to deduplicate: its natural key, the "latest" column of the survivor rule, and the
 * names derived from them (constraint, backup table; the work tables are named per run by {@link DedupePlan}).
 *
 * <p>Config file format (one table per line; '#' starts a comment; blank lines ignored):
 *
 * <pre>
 * # table                      natural key (comma-separated)   [latest=column]  (default synced_at)
 * breezeway.property_photos    property_pk,photo_id            latest=synced_at
 * </pre>
 *
 * The survivor of each natural key is the row with the greatest {@code latest} value, ties broken
 * by the highest {@code id} (the table must have a unique integer {@code id} column).
 */
public final class DedupeTarget {
  public static final String DEFAULT_LATEST = "synced_at";

  private final TableRef table;
  private final List<String> naturalKey;
  private final String latest;

  public DedupeTarget(TableRef table, List<String> naturalKey, String latest) {
    this.table = table;
    if (naturalKey.isEmpty()) {
      throw new IllegalArgumentException("table " + table + ": empty natural key");
    }
    Set<String> seen = new LinkedHashSet<>();
    for (String k : naturalKey) {
      Sql.requireIdent("natural key column of " + table, k);
      if (!seen.add(k)) {
        throw new IllegalArgumentException("table " + table + ": natural key column " + k + " listed twice");
      }
    }
    this.naturalKey = List.copyOf(naturalKey);
    this.latest = Sql.requireIdent("latest column of " + table, latest);
    if (naturalKey.contains("id") || naturalKey.contains(latest)) {
      throw new IllegalArgumentException("table " + table + ": the natural key must not contain id or " + latest);
    }
  }

  public static DedupeTarget of(String table, String naturalKey, String latest, String defaultSchema) {
    return new DedupeTarget(TableRef.parse(table, defaultSchema), splitKey(naturalKey), latest);
  }

  static List<String> splitKey(String naturalKey) {
    List<String> cols = new ArrayList<>();
    if (naturalKey != null) {
      for (String s : naturalKey.split(",", -1)) {
        cols.add(s.trim());
      }
    }
    return cols;
  }

  /** Parses a config file (format above); errors name the file and line. */
  public static List<DedupeTarget> parseFile(Path file, String defaultSchema) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new WarehouseException("cannot read dedupe config " + file + ": " + e.getMessage());
    }
    List<DedupeTarget> targets = new ArrayList<>();
    Set<TableRef> seen = new LinkedHashSet<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      int hash = line.indexOf('#');
      line = (hash >= 0 ? line.substring(0, hash) : line).trim();
      if (line.isEmpty()) {
        continue;
      }
      String where = file + " line " + (i + 1);
      String[] f = line.split("\\s+");
      if (f.length < 2 || f.length > 3 || (f.length == 3 && !f[2].startsWith("latest="))) {
        throw new WarehouseException(where + ": expected 'schema.table key1,key2 [latest=column]', got '" + line + "'");
      }
      try {
        DedupeTarget t = of(f[0], f[1], f.length == 3 ? f[2].substring("latest=".length()) : DEFAULT_LATEST,
            defaultSchema);
        if (!seen.add(t.table())) {
          throw new IllegalArgumentException("table " + t.table() + " listed twice");
        }
        targets.add(t);
      } catch (IllegalArgumentException e) {
        throw new WarehouseException(where + ": " + e.getMessage());
      }
    }
    if (targets.isEmpty()) {
      throw new WarehouseException("dedupe config " + file + " lists no table");
    }
    return targets;
  }

  public TableRef table() {
    return table;
  }

  public List<String> naturalKey() {
    return naturalKey;
  }

  public String latest() {
    return latest;
  }

  /** {@code <table>_<key cols>_key}, PostgreSQL's own default name for a UNIQUE constraint (≤ 63). */
  public String constraintName() {
    String n = table.name() + "_" + String.join("_", naturalKey) + "_key";
    return n.length() <= 63 ? n : n.substring(0, 63);
  }

  /**
   * Kept for --rollback: every row with id ≤ the snapshot (survivors included) plus the removed rows
   * inserted after the snapshot.
   */
  public TableRef backupTable() {
    return table.withSuffix("_dedupe_backup");
  }

  public String quotedKey() {
    return Sql.quoteColumns(naturalKey);
  }

  /** {@code "k1" IS NOT NULL AND "k2" IS NOT NULL} with an optional alias prefix. */
  public String keyNotNull(String alias) {
    List<String> parts = new ArrayList<>();
    for (String k : naturalKey) {
      parts.add(alias + Sql.quoteIdent(k) + " IS NOT NULL");
    }
    return String.join(" AND ", parts);
  }

  public String keyAnyNull() {
    List<String> parts = new ArrayList<>();
    for (String k : naturalKey) {
      parts.add(Sql.quoteIdent(k) + " IS NULL");
    }
    return "(" + String.join(" OR ", parts) + ")";
  }

  @Override
  public String toString() {
    return table.toString();
  }
}
