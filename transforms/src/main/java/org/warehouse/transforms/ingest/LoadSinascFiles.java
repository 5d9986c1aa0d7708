package org.warehouse.transforms.ingest;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.PCollection;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Loads whole SINASC files straight into their tables, ONE transaction per file, written from the
 * worker that parses the file ({@link SinascFileReader}): BEGIN; (for a replaced file) delete its old
 * rows; COPY the typed rows into the fact table (binary) and the dead letters into rejects in ~1 MB
 * chunks while the file is read (one COPY statement while the chunks go to the same table; no Beam
 * element per row); at the end of the file check the
 * reject ratio and the SHA-256; then attach the file's bronze partition, insert the ledger row and a
 * summary row and COMMIT — or ROLLBACK (over {@code maxRejectRatio}, file-level error, any failure)
 * and record only the summary row (autocommit) with the refusal. A worker killed mid-file leaves
 * nothing of it in any table.
 *
 * <p>Bronze is partitioned by file ({@link #bronzeTableSql}): a second connection writes the raw
 * fields, at the same time, into a new table of its own ({@code <bronze>__load_<file_id>_<token>},
 * with {@code CHECK (file_id = N)}) and commits it when the file is read; the file's transaction then
 * attaches it as partition {@code <bronze>_f<file_id>} (no validation scan: the CHECK implies the
 * partition bound) in the same commit as its fact rows and ledger row. So PostgreSQL inserts the fact
 * rows and the bronze rows in two backends at once, and bronze still shows a file's rows exactly when
 * the ledger and fact_births do. A load table left behind by a killed worker is not part of bronze
 * (it carries the comment {@link #LOADING_COMMENT}; {@code IngestPipeline} drops such tables at the
 * next run).
 *
 * <p>A retried call for a file whose transaction already committed (same file_id and sha256 in the
 * ledger) does nothing: each file is loaded exactly once.
 */
public class LoadSinascFiles extends PTransform<PCollection<FileIO.ReadableFile>, PCollection<String>> {
  private static final long serialVersionUID = 1L;

  /** What the driver planned for one file: its ledger id, the SHA-256 it expects (null: a new file), its size. */
  public record PlannedLoad(long fileId, String sha256, long bytes, boolean replace) implements Serializable {}

  /**
   * How the files are read and loaded: their encoding, the refusal threshold, the longest line kept, and
   * how long a file's transaction waits for a table lock (e.g. a reader of bronze holding off the attach).
   */
  public record Rules(String encoding, double maxRejectRatio, int maxLineBytes, int lockTimeoutSeconds)
      implements Serializable {}

  /**
   * The tables (already quoted; {@code bronze} null: bronze not written, else created with
   * {@link #bronzeTableSql}), the files planned by name, and the rules. {@code summaries}: a quoted
   * table (file_name, file_id, lines_read, rows_loaded, rows_rejected, sha256, error, records_deleted) receiving one row
   * per file read. {@code guard} (serializable) runs in each file's transaction just before its COMMIT
   * (the run lock still held?).
   */
  public record Target(JdbcConfig db, String fact, TableRef bronze, String rejects, String ledger, String summaries,
      Rules rules, Map<String, PlannedLoad> files, PublishGuard guard) implements Serializable {
    public Target {
      files = Map.copyOf(files);
    }
  }

  /** Comment on a bronze load table while it is not attached; a run drops such leftovers. */
  public static final String LOADING_COMMENT = "warehouse ingest: bronze rows of a file being loaded";

  /** bronze's columns: the ledger's file_id, the line (record) number, the raw SINASC fields as text. */
  public static final List<String> BRONZE_COLUMNS = bronzeColumns();

  private static List<String> bronzeColumns() {
    List<String> cols = new ArrayList<>(List.of("file_id", "line_number"));
    SinascLineParser.COLUMNS.forEach(c -> cols.add(c.toLowerCase(Locale.ROOT)));
    return List.copyOf(cols);
  }

  /**
   * bronze: partitioned by file (LIST on file_id), one partition per loaded file, no key or index —
   * one file's rows are written once, the ledger guarantees a file is loaded once, and --replace
   * swaps the file's partition.
   */
  public static String bronzeTableSql(TableRef bronze) {
    StringBuilder sql = new StringBuilder("CREATE TABLE " + bronze.quoted()
        + " (file_id integer NOT NULL, line_number integer NOT NULL");
    BRONZE_COLUMNS.subList(2, BRONZE_COLUMNS.size()).forEach(c -> sql.append(", ").append(c).append(" text"));
    return sql.append(") PARTITION BY LIST (file_id)").toString();
  }

  /** The partition holding one file's bronze rows. */
  public static TableRef bronzePartition(TableRef bronze, long fileId) {
    return bronze.withSuffix("_f" + fileId);
  }

  /** The bronze partitions holding file_id (one; none before the file's first load), as SQL names. */
  public static List<String> bronzePartitionsOf(Connection c, TableRef bronze, long fileId) throws SQLException {
    List<String> parts = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT p.oid::regclass::text FROM pg_inherits i "
        + "JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = ?::regclass "
        + "AND pg_get_expr(p.relpartbound, p.oid) = ?")) {
      ps.setString(1, bronze.quoted());
      ps.setString(2, "FOR VALUES IN (" + fileId + ")");
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          parts.add(rs.getString(1));
        }
      }
    }
    return parts;
  }

  /** birth_id = file_id * ID_BASE + line number (line 1 is the header). */
  public static final long ID_BASE = SinascFileReader.ID_BASE;

  /** The name a file is known by in the ledger: its base name. */
  public static String fileName(String path) {
    return SinascFileReader.fileName(path);
  }

  private final Target target;

  private LoadSinascFiles(Target target) {
    this.target = target;
  }

  public static LoadSinascFiles into(Target target) {
    return new LoadSinascFiles(target);
  }

  /** Output: the name of every file handled (committed or refused). */
  @Override
  public PCollection<String> expand(PCollection<FileIO.ReadableFile> files) {
    return files.apply("LoadEachFile", ParDo.of(new LoadFileFn(target)));
  }

  /** "PESO: not a number '3,2kg'" → "PESO: not a number" (the value and the parenthesis dropped). */
  static String reasonKind(String reason) {
    int q = reason.indexOf(" '");
    String r = q < 0 ? reason : reason.substring(0, q);
    int p = r.indexOf(" (");
    return p < 0 ? r : r.substring(0, p);
  }

  /** The three most frequent reason kinds, "kind xN" by count descending then kind. */
  static String topReasons(Map<String, Long> kinds) {
    List<Map.Entry<String, Long>> e = new ArrayList<>(kinds.entrySet());
    e.sort((a, b) -> a.getValue().equals(b.getValue()) ? a.getKey().compareTo(b.getKey())
        : Long.compare(b.getValue(), a.getValue()));
    List<String> top = new ArrayList<>();
    for (int i = 0; i < Math.min(3, e.size()); i++) {
      top.add(e.get(i).getKey() + " x" + e.get(i).getValue());
    }
    return String.join(", ", top);
  }
}
