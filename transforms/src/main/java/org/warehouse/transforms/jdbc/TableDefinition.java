package org.warehouse.transforms.jdbc;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A table's definition as read from one server's catalog, re-creatable on another server under a
 * staging name: column names and exact types ({@code format_type}), collations, NOT NULL, defaults
 * that do not depend on sequences, stored generated columns, primary key / unique / exclusion /
 * check constraints ({@code pg_get_constraintdef}), other indexes ({@code pg_get_indexdef}) and
 * table/column comments.
 *
 * <p>Not carried over: foreign keys (the referenced table may not be promoted), sequences and
 * identity (the column stays a plain NOT NULL column), triggers, policies, grants, owner,
 * partitioning and storage parameters.
 *
 * <p>Index-backed constraints and indexes get staging names ({@code <name>__s<k>}) so they do not
 * collide with the production table's indexes in the same schema; {@link #indexNames} maps them
 * back to the source names, for {@link TableSwap} to apply when the staging table is renamed.
 */
public final class TableDefinition {
  /** One column. */
  public static final class Column {
    public final String name;
    public final String type;
    public final String collation; // null = the type's default
    public final boolean notNull;
    public final String defaultExpr; // null = none (or one that needed a sequence)
    public final String generatedExpr; // null = not generated
    public final String comment;

    Column(String name, String type, String collation, boolean notNull, String defaultExpr,
        String generatedExpr, String comment) {
      this.name = name;
      this.type = type;
      this.collation = collation;
      this.notNull = notNull;
      this.defaultExpr = defaultExpr;
      this.generatedExpr = generatedExpr;
      this.comment = comment;
    }
  }

  private final TableRef table;
  private final List<Column> columns;
  private final List<String[]> constraints; // {name, definition, contype}
  private final List<String[]> indexes; // {name, unique ? "UNIQUE " : "", "USING ..." tail}
  private final String comment;

  private TableDefinition(TableRef table, List<Column> columns, List<String[]> constraints,
      List<String[]> indexes, String comment) {
    this.table = table;
    this.columns = columns;
    this.constraints = constraints;
    this.indexes = indexes;
    this.comment = comment;
  }

  public TableRef table() {
    return table;
  }

  public List<Column> columns() {
    return Collections.unmodifiableList(columns);
  }

  /** The columns COPY writes (every column but generated ones), in table order. */
  public List<String> copyColumns() {
    List<String> out = new ArrayList<>();
    for (Column c : columns) {
      if (c.generatedExpr == null) {
        out.add(c.name);
      }
    }
    return out;
  }

  /** Column name → type, as {@link Db#columns} returns it (for comparing with another table). */
  public Map<String, String> columnTypes() {
    Map<String, String> m = new LinkedHashMap<>();
    for (Column c : columns) {
      m.put(c.name, c.type);
    }
    return m;
  }

  /** Reads a table's definition; throws a {@link WarehouseException} when it does not exist. */
  public static TableDefinition read(Connection c, TableRef t) throws SQLException {
    Long oid = null;
    String comment = null;
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT k.oid, obj_description(k.oid, 'pg_class') FROM pg_class k "
            + "JOIN pg_namespace n ON n.oid = k.relnamespace WHERE n.nspname = ? AND k.relname = ? "
            + "AND k.relkind IN ('r', 'p')")) {
      ps.setString(1, t.schema());
      ps.setString(2, t.name());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          oid = rs.getLong(1);
          comment = rs.getString(2);
        }
      }
    }
    if (oid == null) {
      throw new WarehouseException("table " + t + " does not exist (or is not a table) in database "
          + c.getCatalog() + ": check --schema and the table name");
    }
    return new TableDefinition(t, readColumns(c, oid), readConstraints(c, oid), readIndexes(c, oid, t), comment);
  }

  private static List<Column> readColumns(Connection c, long oid) throws SQLException {
    List<Column> cols = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
            + " CASE WHEN a.attcollation <> 0 AND a.attcollation <> ty.typcollation "
            + "      THEN quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END, "
            + " a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated, a.attidentity, "
            + " EXISTS (SELECT 1 FROM pg_depend d JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S' "
            + "         WHERE d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid), "
            + " col_description(a.attrelid, a.attnum) "
            + "FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
            + "LEFT JOIN pg_collation co ON co.oid = a.attcollation "
            + "LEFT JOIN pg_namespace cn ON cn.oid = co.collnamespace "
            + "LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum "
            + "WHERE a.attrelid = ? AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String expr = rs.getString(5);
          String generated = rs.getString(6);
          boolean isGenerated = generated != null && !generated.isEmpty();
          boolean usesSequence = rs.getBoolean(8) || (expr != null && expr.contains("nextval("));
          cols.add(new Column(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4),
              isGenerated || usesSequence ? null : expr, isGenerated ? expr : null, rs.getString(9)));
        }
      }
    }
    return cols;
  }

  private static List<String[]> readConstraints(Connection c, long oid) throws SQLException {
    List<String[]> cons = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT conname, pg_get_constraintdef(oid), contype FROM pg_constraint "
            + "WHERE conrelid = ? AND contype IN ('p', 'u', 'x', 'c') ORDER BY contype = 'c', conname")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          cons.add(new String[] {rs.getString(1), rs.getString(2), rs.getString(3)});
        }
      }
    }
    return cons;
  }

  private static List<String[]> readIndexes(Connection c, long oid, TableRef t) throws SQLException {
    List<String[]> idx = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT i.relname, x.indisunique, pg_get_indexdef(x.indexrelid), "
            + " quote_ident(n.nspname) || '.' || quote_ident(k.relname) "
            + "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class k ON k.oid = x.indrelid "
            + "JOIN pg_namespace n ON n.oid = k.relnamespace "
            + "WHERE x.indrelid = ? AND NOT EXISTS (SELECT 1 FROM pg_constraint pc WHERE pc.conindid = x.indexrelid "
            + "  AND pc.conrelid = x.indrelid AND pc.contype IN ('p', 'u', 'x')) ORDER BY i.relname")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String def = rs.getString(3);
          String tail = indexTail(def, rs.getString(4));
          if (tail == null) {
            throw new WarehouseException("cannot parse the definition of index " + rs.getString(1) + " on " + t
                + " (" + def + "): drop or rename it, or exclude the table");
          }
          idx.add(new String[] {rs.getString(1), rs.getBoolean(2) ? "UNIQUE " : "", tail});
        }
      }
    }
    return idx;
  }

  /**
   * What follows the table in {@code pg_get_indexdef}'s {@code CREATE [UNIQUE] INDEX name ON [ONLY]
   * table USING ...}: the part that can be re-targeted at another table; null when it is not found.
   *
   * @param quotedTable the indexed table as {@code quote_ident(schema) || '.' || quote_ident(name)}
   */
  public static String indexTail(String indexDef, String quotedTable) {
    for (String on : new String[] {" ON " + quotedTable + " ", " ON ONLY " + quotedTable + " "}) {
      int at = indexDef.indexOf(on);
      if (at >= 0) {
        return indexDef.substring(at + on.length());
      }
    }
    return null;
  }

  /** CREATE TABLE for the staging table (no indexes or constraints but NOT NULL: load first). */
  public List<String> createSql(TableRef staging) {
    StringBuilder sb = new StringBuilder("CREATE TABLE ").append(staging.quoted()).append(" (");
    for (int i = 0; i < columns.size(); i++) {
      Column col = columns.get(i);
      sb.append(i == 0 ? "\n  " : ",\n  ").append(Sql.quoteIdent(col.name)).append(' ').append(col.type);
      if (col.collation != null) {
        sb.append(" COLLATE ").append(col.collation);
      }
      if (col.generatedExpr != null) {
        sb.append(" GENERATED ALWAYS AS (").append(col.generatedExpr).append(") STORED");
      } else if (col.defaultExpr != null) {
        sb.append(" DEFAULT ").append(col.defaultExpr);
      }
      if (col.notNull) {
        sb.append(" NOT NULL");
      }
    }
    sb.append("\n)");
    List<String> out = new ArrayList<>();
    out.add(sb.toString());
    if (comment != null) {
      out.add("COMMENT ON TABLE " + staging.quoted() + " IS " + Sql.literal(comment));
    }
    for (Column col : columns) {
      if (col.comment != null) {
        out.add("COMMENT ON COLUMN " + staging.quoted() + "." + Sql.quoteIdent(col.name) + " IS "
            + Sql.literal(col.comment));
      }
    }
    return out;
  }

  /** Constraints and indexes to add once the staging table is loaded, under staging names. */
  public List<String> indexSql(TableRef staging) {
    List<String> out = new ArrayList<>();
    Map<String, String> names = indexNames();
    for (String[] con : constraints) {
      String name = "c".equals(con[2]) ? con[0] : stagingName(con[0], names);
      out.add("ALTER TABLE " + staging.quoted() + " ADD CONSTRAINT " + Sql.quoteIdent(name) + " " + con[1]);
    }
    for (String[] ix : indexes) {
      out.add("CREATE " + ix[1] + "INDEX " + Sql.quoteIdent(stagingName(ix[0], names)) + " ON "
          + staging.quoted() + " " + ix[2]);
    }
    return out;
  }

  /** Staging index name → source index name, for {@link TableSwap.Swap}. */
  public Map<String, String> indexNames() {
    Map<String, String> m = new LinkedHashMap<>();
    int k = 0;
    for (String[] con : constraints) {
      if (!"c".equals(con[2])) {
        m.put(stagingIndexName(con[0], k++), con[0]);
      }
    }
    for (String[] ix : indexes) {
      m.put(stagingIndexName(ix[0], k++), ix[0]);
    }
    return m;
  }

  private static String stagingName(String source, Map<String, String> names) {
    for (Map.Entry<String, String> e : names.entrySet()) {
      if (e.getValue().equals(source)) {
        return e.getKey();
      }
    }
    throw new IllegalStateException("no staging name for " + source);
  }

  static String stagingIndexName(String source, int k) {
    String suffix = "__s" + k;
    String base = source.length() + suffix.length() > 63 ? source.substring(0, 63 - suffix.length()) : source;
    return base + suffix;
  }

  /** The table's comment, or null. */
  public String comment() {
    return comment;
  }

  /**
   * A primary key, unique constraint or index as PostgreSQL defines it, for databases that re-create
   * it their own way.
   *
   * @param kind {@code PRIMARY KEY}, {@code UNIQUE} (constraint), {@code UNIQUE INDEX}, {@code INDEX},
   *     {@code EXCLUDE} or {@code CHECK}
   * @param definition {@code pg_get_constraintdef} ("PRIMARY KEY (a, b)") or the index definition after
   *     the table ("USING btree (c DESC) WHERE …")
   */
  public record KeyDef(String name, String kind, String definition) {}

  /** The primary key, unique, exclusion and check constraints, then the indexes. */
  public List<KeyDef> keyDefs() {
    List<KeyDef> out = new ArrayList<>();
    for (String[] con : constraints) {
      String kind = switch (con[2]) {
        case "p" -> "PRIMARY KEY";
        case "u" -> "UNIQUE";
        case "x" -> "EXCLUDE";
        case "c" -> "CHECK";
        default -> null;
      };
      if (kind != null) {
        out.add(new KeyDef(con[0], kind, con[1]));
      }
    }
    for (String[] ix : indexes) {
      out.add(new KeyDef(ix[0], ix[1].isEmpty() ? "INDEX" : "UNIQUE INDEX", ix[2]));
    }
    return out;
  }
}
