package org.warehouse.pipelines.dedupe;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/** Reads from the catalog what {@link DedupePlan} decides on; changes nothing. */
final class DedupeCatalog {
  private DedupeCatalog() {}

  /** What the catalog says about one table to deduplicate. */
  record TableFacts(
      /** column name → type, as {@code Db.columns} gives them. */
      Map<String, String> columns,
      /** The UNIQUE constraint on the natural key exists (an earlier run finished). */
      boolean constraintExists,
      /** {@code <table>_dedupe_backup} exists. */
      boolean backupExists,
      /** Foreign keys referencing the table with ON DELETE CASCADE / SET NULL / SET DEFAULT, or null. */
      String changingReferences,
      /** A unique, non-partial index on {@code id} alone (a primary key, usually) guarantees ids are unique. */
      boolean idUnique) {}

  /** Facts of every target, in order; a missing table or column fails here, naming it. */
  static Map<TableRef, TableFacts> read(Connection c, List<DedupeTarget> targets) throws SQLException {
    Map<TableRef, TableFacts> facts = new LinkedHashMap<>();
    for (DedupeTarget t : targets) {
      List<String> cols = new ArrayList<>(t.naturalKey());
      cols.add("id");
      cols.add(t.latest());
      Db.requireColumns(c, t.table(), cols, "check the table and natural key in the dedupe config or --table/--naturalKey");
      facts.put(t.table(), new TableFacts(Db.columns(c, t.table()),
          DedupeSql.constraintExists(c, t.table(), t.constraintName()), Db.tableExists(c, t.backupTable()),
          changingReferences(c, t.table()), idUnique(c, t.table())));
    }
    return facts;
  }

  private static String changingReferences(Connection c, TableRef table) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT string_agg(conname || ' on ' || conrelid::regclass::text, ', ') "
        + "FROM pg_constraint WHERE confrelid = ?::regclass AND contype = 'f' AND confdeltype IN ('c', 'n', 'd')")) {
      ps.setString(1, table.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  private static boolean idUnique(Connection c, TableRef table) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid "
        + "AND a.attnum = x.indkey[0] WHERE x.indrelid = " + Sql.literal(table.quoted()) + "::regclass "
        + "AND x.indisunique AND x.indnkeyatts = 1 AND x.indpred IS NULL AND x.indisvalid AND a.attname = 'id'") > 0;
  }
}
