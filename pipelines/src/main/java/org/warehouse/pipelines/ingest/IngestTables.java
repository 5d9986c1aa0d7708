package org.warehouse.pipelines.ingest;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.transforms.births.FactBirths;
import org.warehouse.transforms.ingest.LoadSinascFiles;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * ingest's tables in one schema: the fact table (silver), bronze (partitioned by file) and its view with
 * file names, the rejects, the ledger and its file_id sequence; created when missing, checked when there.
 */
public record IngestTables(TableRef fact, TableRef bronze, TableRef bronzeView, TableRef rejects, TableRef ledger,
    TableRef fileIds) {
  static final String BRONZE = "bronze_sinasc_raw";
  /** bronze with each row's file name (from the ledger). */
  static final String BRONZE_VIEW = "bronze_sinasc";
  static final String REJECTS = "ingest_rejects";
  static final String LEDGER = "ingest_files";
  static final String FILE_ID_SEQUENCE = "ingest_file_id_seq";

  static IngestTables of(String schema, String factTable) {
    return new IngestTables(TableRef.parse(factTable, schema), TableRef.of(schema, BRONZE),
        TableRef.of(schema, BRONZE_VIEW), TableRef.of(schema, REJECTS), TableRef.of(schema, LEDGER),
        TableRef.of(schema, FILE_ID_SEQUENCE));
  }

  /** Creates what is missing; refuses a fact table or ledger of another shape (exit 1, naming it). */
  void ensure(Connection c) throws SQLException {
    if (!Db.tableExists(c, fact)) {
      Db.execute(c, FactBirths.createTableSql(fact));
      Db.execute(c, FactBirths.primaryKeySql(fact));
      Db.execute(c, FactBirths.commentSql(fact));
    } else {
      Db.requireColumns(c, fact, FactBirths.COLUMNS, "name another table with --factTable");
    }
    if (!Db.tableExists(c, bronze)) {
      Db.execute(c, LoadSinascFiles.bronzeTableSql(bronze));
    } else if (!isPartitioned(c, bronze)) {
      throw new WarehouseException(bronze + " is a plain table of an earlier layout, not partitioned by file: "
          + "move it into per-file partitions as docs/ingest.md (\"Earlier bronze layouts\") shows, or rename it; "
          + "nothing changed");
    }
    addBronzeColumns(c);
    Db.execute(c, "CREATE TABLE IF NOT EXISTS " + rejects.quoted() + " (file_name text NOT NULL, "
        + "line_number integer NOT NULL, raw_line text NOT NULL, reason text NOT NULL, "
        + "PRIMARY KEY (file_name, line_number))");
    Db.execute(c, "CREATE SEQUENCE IF NOT EXISTS " + fileIds.quoted());
    Db.execute(c, "CREATE TABLE IF NOT EXISTS " + ledger.quoted() + " (file_id bigint PRIMARY KEY, "
        + "file_name text NOT NULL UNIQUE, sha256 text NOT NULL, bytes bigint NOT NULL, lines_read bigint NOT NULL, "
        + "rows_loaded bigint NOT NULL, rows_rejected bigint NOT NULL, loaded_at timestamptz NOT NULL, "
        + "replaced_count integer NOT NULL DEFAULT 0)");
    Db.requireColumns(c, ledger, List.of("file_id", "file_name", "sha256", "rows_loaded", "rows_rejected",
        "loaded_at"), "drop or rename the old ledger table");
    Db.execute(c, "CREATE OR REPLACE VIEW " + bronzeView.quoted() + " AS SELECT f.file_name, "
        + "b.* FROM " + bronze.quoted() + " b JOIN " + ledger.quoted() + " f USING (file_id)");
    requireFactTypes(c);
  }

  /**
   * The fact rows are sent with COPY binary, which needs the exact column types of {@link FactBirths}
   * (an existing table with other types is refused up front rather than failing mid-file).
   */
  private void requireFactTypes(Connection c) throws SQLException {
    List<String> wrong = new ArrayList<>();
    for (Map.Entry<String, String> col : Db.columns(c, fact).entrySet()) {
      String want = FactBirths.TYPES.get(col.getKey());
      if (want != null && !want.equals(col.getValue())) {
        wrong.add(col.getKey() + " is " + col.getValue() + ", expected " + want);
      }
    }
    if (!wrong.isEmpty()) {
      throw new WarehouseException(fact + " does not have fact_births' column types (" + String.join(", ", wrong)
          + "): name another table with --factTable");
    }
  }

  /** Columns bronze gained with the DATASUS layouts (GESTACAO, CONSULTAS): added to an older bronze, NULL there. */
  private void addBronzeColumns(Connection c) throws SQLException {
    Map<String, String> have = Db.columns(c, bronze);
    for (String col : LoadSinascFiles.BRONZE_COLUMNS) {
      if (!have.containsKey(col)) {
        Db.execute(c, "ALTER TABLE " + bronze.quoted() + " ADD COLUMN " + Sql.quoteIdent(col) + " text");
      }
    }
  }

  static boolean isPartitioned(Connection c, TableRef t) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT relkind = 'p' FROM pg_class WHERE oid = ?::regclass")) {
      ps.setString(1, t.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /** Drops the load tables of bronze partitions that a killed run never attached (see LoadSinascFiles), saying so. */
  void dropAbandonedLoads(Connection c, Progress progress) throws SQLException {
    List<String> abandoned = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT t.oid::regclass::text FROM pg_class t JOIN pg_namespace n "
        + "ON n.oid = t.relnamespace WHERE n.nspname = ? AND t.relkind = 'r' AND NOT t.relispartition "
        + "AND obj_description(t.oid, 'pg_class') = ?")) {
      ps.setString(1, bronze.schema());
      ps.setString(2, LoadSinascFiles.LOADING_COMMENT);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          abandoned.add(rs.getString(1));
        }
      }
    }
    for (String t : abandoned) {
      progress.say("ingest: dropping %s, a bronze load table left by a run that did not finish", t);
      Db.execute(c, "DROP TABLE IF EXISTS " + t);
    }
  }

  /** The ledger rows of these names. */
  Map<String, IngestPlan.LedgerEntry> ledgerEntries(Connection c, Collection<String> names) throws SQLException {
    Map<String, IngestPlan.LedgerEntry> known = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT file_name, file_id, sha256, loaded_at FROM "
        + ledger.quoted() + " WHERE file_name = ANY (?)")) {
      ps.setArray(1, c.createArrayOf("text", names.toArray()));
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          known.put(rs.getString(1), new IngestPlan.LedgerEntry(rs.getLong(2), rs.getString(3),
              rs.getTimestamp(4).toInstant()));
        }
      }
    }
    return known;
  }

  /** n new file_ids from the sequence. */
  List<Long> drawFileIds(Connection c, long n) throws SQLException {
    List<Long> ids = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT nextval(" + Sql.literal(fileIds.quoted())
        + "::regclass) FROM generate_series(1, ?)")) {
      ps.setLong(1, n);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          ids.add(rs.getLong(1));
        }
      }
    }
    return ids;
  }
}
