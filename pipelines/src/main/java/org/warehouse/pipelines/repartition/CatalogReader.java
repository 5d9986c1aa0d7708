package org.warehouse.pipelines.repartition;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Reads a table's {@link TableShape} from the catalog and refuses, before anything changes, a table the
 * move cannot carry over faithfully (each refusal names the objects and the way out). Reads only.
 */
public final class CatalogReader {
  /** Sequences owned by a table's columns (serial): sequence → column. */
  static final String OWNED_SEQUENCES = "SELECT s.oid::regclass::text, a.attname FROM pg_depend d "
      + "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
      + "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
      + "WHERE d.classid = 'pg_class'::regclass AND d.refobjid = ? AND d.deptype = 'a' ORDER BY 1";

  private static final String INDEXES = "SELECT i.relname, x.indisunique, coalesce(pc.contype, ''), "
      + "pg_get_indexdef(x.indexrelid), x.indexprs IS NOT NULL OR x.indpred IS NOT NULL OR x.indnatts > x.indnkeyatts, "
      + "ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
      + "  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
      + "  WHERE k.ord <= x.indnkeyatts ORDER BY k.ord), "
      + "quote_ident(n.nspname) || '.' || quote_ident(k.relname) "
      + "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class k ON k.oid = x.indrelid "
      + "JOIN pg_namespace n ON n.oid = k.relnamespace "
      + "LEFT JOIN pg_constraint pc ON pc.conindid = x.indexrelid AND pc.conrelid = x.indrelid "
      + "WHERE x.indrelid = ? ORDER BY i.relname";

  private CatalogReader() {}

  /**
   * Reads and checks the table. Returns null when it is already range-partitioned on {@code column}
   * (nothing to do); throws a {@link WarehouseException} naming the table and the way out otherwise.
   */
  public static TableShape read(Connection c, TableRef t, String column) throws SQLException {
    Sql.requireIdent("--partitionColumn", column);
    if (t.name().length() + RepartitionPlan.BACKUP_SUFFIX.length() > 63) {
      throw new WarehouseException("table " + t + ": its name is too long for the backup name "
          + RepartitionPlan.backupOf(t).name() + " (PostgreSQL's limit is 63 characters): rename the table first");
    }
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT k.oid, k.relkind, k.relrowsecurity, greatest(k.reltuples, 0)::bigint, "
            + "pg_relation_size(k.oid) / current_setting('block_size')::bigint, pg_get_userbyid(k.relowner), "
            + "obj_description(k.oid, 'pg_class'), pg_get_partkeydef(k.oid), pg_total_relation_size(k.oid), "
            + "(SELECT spcname FROM pg_tablespace WHERE oid = k.reltablespace) "
            + "FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE n.nspname = ? AND k.relname = ?")) {
      ps.setString(1, t.schema());
      ps.setString(2, t.name());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new WarehouseException("table " + t + " does not exist in database " + c.getCatalog()
              + ": check --table and --schema");
        }
        if ("p".equals(rs.getString(2))) {
          if (("RANGE (" + column + ")").equals(rs.getString(8))
              || ("RANGE (" + Sql.quoteIdent(column) + ")").equals(rs.getString(8))) {
            return null;
          }
          throw new WarehouseException("table " + t + " is already partitioned (" + rs.getString(8)
              + "), not by range of " + column + ": not changed");
        }
        if (!"r".equals(rs.getString(2))) {
          throw new WarehouseException(t + " is not an ordinary table (relkind " + rs.getString(2) + "): not changed");
        }
        return shape(c, t, column, rs);
      }
    }
  }

  /** The shape from the table's pg_class row {@code k} (as {@link #read} selects it) and the rest of the catalog. */
  private static TableShape shape(Connection c, TableRef t, String column, ResultSet k) throws SQLException {
    long oid = k.getLong(1);
    ColumnKind kind = columnKind(c, t, oid, column);
    refuseWhat(c, t, oid, column, k.getBoolean(3));
    List<String> columns = strings(c, "SELECT attname FROM pg_attribute WHERE attrelid = ? AND attnum > 0 "
        + "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", oid); // generated ones are computed again
    List<UniqueKey> keys = new ArrayList<>();
    Map<String, String> indexes = new LinkedHashMap<>();
    readIndexes(c, t, oid, column, notNull(c, oid, List.of(column)), keys, indexes);
    Map<String, String> fks = pairs(c, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        + "WHERE conrelid = ? AND contype = 'f' ORDER BY conname", oid);
    List<String> grants = strings(c, "SELECT 'GRANT ' || a.privilege_type || ' ON {table} TO ' "
        + "|| CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END "
        + "|| CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END "
        + "FROM pg_class k, aclexplode(k.relacl) a WHERE k.oid = ? AND a.grantee <> k.relowner ORDER BY 1", oid);
    return new TableShape(t, column, kind, oid, k.getLong(4), k.getLong(5), k.getString(6), k.getString(7), columns,
        keys, indexes, fks, pairs(c, OWNED_SEQUENCES, oid), grants, rowKey(c, oid, keys), k.getLong(9), k.getString(10));
  }

  private static ColumnKind columnKind(Connection c, TableRef t, long oid, String column) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT format_type(atttypid, NULL) FROM pg_attribute "
        + "WHERE attrelid = ? AND attname = ? AND attnum > 0 AND NOT attisdropped")) {
      ps.setLong(1, oid);
      ps.setString(2, column);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new WarehouseException("table " + t + " has no column " + column + ": check --partitionColumn");
        }
        ColumnKind kind = ColumnKind.of(rs.getString(1));
        if (kind == null) {
          throw new WarehouseException("column " + t + "." + column + " is " + rs.getString(1)
              + ": monthly partitions need a date, timestamp or timestamptz column (--partitionColumn)");
        }
        return kind;
      }
    }
  }

  /** Refuses what the move would break or lose: each names the objects and the way out. */
  private static void refuseWhat(Connection c, TableRef t, long oid, String column, boolean rowSecurity)
      throws SQLException {
    refuseIfAny(c, t, "SELECT DISTINCT v.oid::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        + "JOIN pg_class v ON v.oid = r.ev_class WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = ? "
        + "AND v.oid <> d.refobjid AND v.relkind <> 'v'", oid, "materialized views or rules depend on it (they would "
        + "keep reading the old table)", "drop them, repartition, then create them again");
    refuseIfAny(c, t, "SELECT conname || ' on ' || conrelid::regclass::text FROM pg_constraint WHERE confrelid = ? "
        + "AND contype = 'f' AND NOT (SELECT attnum FROM pg_attribute WHERE attrelid = confrelid AND attname = "
        + Sql.literal(column) + ") = ANY (confkey)", oid, "foreign keys reference it by a key without " + column
        + " (every unique key of a partitioned table includes its partition column, so PostgreSQL cannot express "
        + "them)", "drop them, or make them reference a key that includes " + column);
    refuseIfAny(c, t, "SELECT tgname FROM pg_trigger WHERE tgrelid = ? AND NOT tgisinternal AND tgtype & 1 = 1 "
        + "AND (tgoldtable IS NOT NULL OR tgnewtable IS NOT NULL)", oid, "it has row-level triggers with transition "
        + "tables (PostgreSQL does not allow them on a partitioned table)", "drop them or make them statement-level");
    refuseIfAny(c, t, "SELECT inhparent::regclass::text || ' -> ' || inhrelid::regclass::text FROM pg_inherits "
        + "WHERE inhrelid = ? OR inhparent = ?", oid, "it takes part in table inheritance", "detach it first");
    refuseIfAny(c, t, "SELECT attname FROM pg_attribute WHERE attrelid = ? AND attidentity <> '' AND NOT attisdropped",
        oid, "it has identity columns (their sequence would start again at 1)",
        "turn them into serial columns (ALTER TABLE … ALTER COLUMN … DROP IDENTITY, then a DEFAULT nextval)");
    if (rowSecurity) {
      throw new WarehouseException("table " + t + " has row-level security enabled (policies are not carried "
          + "over): disable it, repartition, then enable it and create the policies again; nothing changed");
    }
  }

  private static void refuseIfAny(Connection c, TableRef t, String sql, long oid, String why, String wayOut)
      throws SQLException {
    List<String> found = strings(c, sql, oid);
    if (!found.isEmpty()) {
      throw new WarehouseException("table " + t + " cannot be repartitioned: " + why + ": " + String.join(", ", found)
          + "; " + wayOut + "; nothing changed");
    }
  }

  private static void readIndexes(Connection c, TableRef t, long oid, String column, boolean notNull,
      List<UniqueKey> keys, Map<String, String> indexes) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(INDEXES)) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String name = rs.getString(1);
          refuseIndex(t, name, rs.getString(3), rs.getBoolean(2) && rs.getBoolean(5), column);
          if (rs.getBoolean(2)) {
            keys.add(widen(t, name, rs.getString(3), (String[]) ((Array) rs.getArray(6)).getArray(), column, notNull));
          } else {
            String tail = TableDefinition.indexTail(rs.getString(4), rs.getString(7));
            if (tail == null) {
              throw new WarehouseException("cannot parse the definition of index " + name + " on " + t + " ("
                  + rs.getString(4) + "): drop it first and re-create it afterwards; nothing changed");
            }
            indexes.put(name, tail);
          }
        }
      }
    }
  }

  private static void refuseIndex(TableRef t, String name, String contype, boolean partialUnique, String column) {
    if (name.length() + RepartitionPlan.BACKUP_INDEX_SUFFIX.length() > 63) {
      throw new WarehouseException("index " + name + " of " + t + ": its name is too long to get the suffix "
          + RepartitionPlan.BACKUP_INDEX_SUFFIX + " while the original is kept as the backup: rename it (ALTER INDEX … "
          + "RENAME), then re-run; nothing changed");
    }
    if ("x".equals(contype)) {
      throw new WarehouseException("table " + t + " has the exclusion constraint " + name + ", which a "
          + "partitioned table cannot enforce across partitions: drop it first; nothing changed");
    }
    if (partialUnique) {
      throw new WarehouseException("unique index " + name + " of " + t + " has expressions, a WHERE clause or "
          + "INCLUDE columns: it cannot be widened by the partition column " + column
          + "; drop it first and re-create it on the partitioned table; nothing changed");
    }
  }

  /** The unique key as the partitioned table will have it (the partition column appended if missing). */
  private static UniqueKey widen(TableRef t, String name, String contype, String[] keyColumns, String column,
      boolean notNull) {
    List<String> cols = new ArrayList<>(Arrays.asList(keyColumns));
    boolean widened = !cols.contains(column);
    if (widened) {
      cols.add(column);
      if ("p".equals(contype) && !notNull) {
        throw new WarehouseException("the primary key " + name + " of " + t + " would have to include " + column
            + ", which allows NULL: make it NOT NULL first (ALTER TABLE " + t.quoted() + " ALTER COLUMN "
            + Sql.quoteIdent(column) + " SET NOT NULL) or choose another --partitionColumn; nothing changed");
      }
    }
    return new UniqueKey(name, !contype.isEmpty(), "p".equals(contype), cols, widened);
  }

  /** The primary key, else the first unique key whose columns are all NOT NULL; null when none. */
  private static RowKey rowKey(Connection c, long oid, List<UniqueKey> keys) throws SQLException {
    List<UniqueKey> ordered = new ArrayList<>(keys);
    ordered.sort((a, b) -> Boolean.compare(b.primary(), a.primary()));
    for (UniqueKey k : ordered) {
      if (notNull(c, oid, k.originalColumns())) {
        List<String> types = new ArrayList<>();
        for (String col : k.originalColumns()) {
          types.add(strings(c, "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = ? "
              + "AND attname = " + Sql.literal(col), oid).get(0));
        }
        return new RowKey(k.name(), k.originalColumns(), types);
      }
    }
    return null;
  }

  private static boolean notNull(Connection c, long oid, List<String> columns) throws SQLException {
    for (String col : columns) {
      if (strings(c, "SELECT attname FROM pg_attribute WHERE attrelid = ? AND attnotnull AND attname = "
          + Sql.literal(col), oid).isEmpty()) {
        return false;
      }
    }
    return true;
  }

  /** Reads the first and last month holding rows (an empty table: the current month). */
  public static RepartitionPlan.MonthSpan months(Connection c, TableShape shape) throws SQLException {
    String col = Sql.quoteIdent(shape.column());
    try (PreparedStatement ps = c.prepareStatement("SELECT " + shape.kind().month("min(" + col + ")") + ", "
        + shape.kind().month("max(" + col + ")") + " FROM " + shape.table().quoted());
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      LocalDate now = LocalDate.now(ZoneOffset.UTC).withDayOfMonth(1);
      return new RepartitionPlan.MonthSpan(rs.getDate(1) == null ? now : rs.getDate(1).toLocalDate(),
          rs.getDate(2) == null ? now : rs.getDate(2).toLocalDate());
    }
  }

  static List<String> strings(Connection c, String sql, long oid) throws SQLException {
    List<String> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 1; i <= ps.getParameterMetaData().getParameterCount(); i++) {
        ps.setLong(i, oid);
      }
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
      }
    }
    return out;
  }

  static Map<String, String> pairs(Connection c, String sql, long oid) throws SQLException {
    Map<String, String> out = new LinkedHashMap<>();
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    return out;
  }
}
