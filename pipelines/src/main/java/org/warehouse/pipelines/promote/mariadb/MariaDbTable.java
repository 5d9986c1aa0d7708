package org.warehouse.pipelines.promote.mariadb;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.warehouse.transforms.jdbc.TableDefinition;

/**
 * A source table's definition as MariaDB/MySQL creates it: mapped columns ({@link MariaDbTypes}),
 * NOT NULL, portable defaults and comments in {@code CREATE TABLE}; the primary key, unique keys and
 * indexes in one {@code ALTER TABLE} after the load ({@link #keySql}): InnoDB keeps rows in key order,
 * and loading the source's rows, which come in no such order, into a keyed table measured slower than
 * loading without a key and adding it (docs/promote.md). InnoDB, utf8mb4 with a binary, no-pad collation: text compares
 * and sorts by code point and trailing spaces count, as in PostgreSQL's C collation.
 *
 * <p>What is not carried over is listed in {@link #notes()}: non-portable defaults (expressions,
 * sequences), CHECK and exclusion constraints, keys MariaDB cannot hold ({@link PgKeys}).
 */
public final class MariaDbTable {
  private static final Pattern NUMBER = Pattern.compile("\\(?(-?\\d+(?:\\.\\d+)?)\\)?(?:::[a-z ]+(?:\\(\\d+(?:,\\d+)?\\))?)?");
  private static final Pattern STRING = Pattern.compile("'((?:[^']|'')*)'(?:::[a-z ]+(?:\\(\\d+\\))?)?");

  private final String name;
  private final List<MariaDbColumn> columns;
  private final List<MariaDbKey> keys;
  private final Map<String, String> defaults; // column -> MariaDB default clause value
  private final Set<String> notNull;
  private final Map<String, String> comments;
  private final String tableComment;
  private final List<String> notes;

  private MariaDbTable(String name, List<MariaDbColumn> columns, List<MariaDbKey> keys, Map<String, String> defaults,
      Set<String> notNull, Map<String, String> comments, String tableComment, List<String> notes) {
    this.name = name;
    this.columns = columns;
    this.keys = keys;
    this.defaults = defaults;
    this.notNull = notNull;
    this.comments = comments;
    this.tableComment = tableComment;
    this.notes = notes;
  }

  /**
   * Maps a source definition; refuses (a {@link org.warehouse.transforms.jdbc.WarehouseException}
   * naming table and column) a column without a faithful type.
   */
  public static MariaDbTable of(TableDefinition def) {
    String table = def.table().name();
    PgKeys.Result keys = PgKeys.of(def.keyDefs());
    Set<String> keyColumns = new HashSet<>();
    for (MariaDbKey k : keys.keys()) {
      keyColumns.addAll(k.columns());
    }
    List<MariaDbColumn> cols = new ArrayList<>();
    Map<String, String> defaults = new LinkedHashMap<>();
    Set<String> notNull = new HashSet<>();
    Map<String, String> comments = new LinkedHashMap<>();
    List<String> notes = new ArrayList<>();
    for (TableDefinition.Column c : def.columns()) {
      if (c.generatedExpr != null) { // not in the source's COPY (TableDefinition#copyColumns)
        notes.add("column " + c.name + " is generated on the source (" + c.generatedExpr + "): left out");
        continue;
      }
      MariaDbColumn col = MariaDbTypes.map(table, c.name, c.type, keyColumns.contains(c.name));
      cols.add(col);
      if (c.notNull) {
        notNull.add(c.name);
      }
      if (c.comment != null) {
        comments.put(c.name, c.comment);
      }
      if (c.defaultExpr != null) {
        String d = portableDefault(c.defaultExpr, col);
        if (d == null) {
          notes.add("default of column " + c.name + " (" + c.defaultExpr + ") is not portable: left out");
        } else {
          defaults.put(c.name, d);
        }
      }
    }
    notes.addAll(keys.notes());
    return new MariaDbTable(table, cols, keys.keys(), defaults, notNull, comments, def.comment(), notes);
  }

  /** A PostgreSQL default as a MariaDB literal, or null when it is not a constant MariaDB reads the same. */
  static String portableDefault(String expr, MariaDbColumn col) {
    String e = expr.strip();
    if (col.kind() == MariaDbColumn.Kind.BOOLEAN && (e.equals("true") || e.equals("false"))) {
      return e.equals("true") ? "1" : "0";
    }
    Matcher m = NUMBER.matcher(e);
    if (m.matches() && (col.kind() == MariaDbColumn.Kind.INTEGER || col.kind() == MariaDbColumn.Kind.DECIMAL
        || col.kind() == MariaDbColumn.Kind.FLOAT)) {
      return m.group(1);
    }
    m = STRING.matcher(e);
    if (m.matches() && col.kind() != MariaDbColumn.Kind.TIMESTAMPTZ && col.kind() != MariaDbColumn.Kind.BOOLEAN) {
      return MariaDbSql.literal(m.group(1).replace("''", "'"));
    }
    return null;
  }

  public String name() {
    return name;
  }

  public List<MariaDbColumn> columns() {
    return columns;
  }

  public List<MariaDbKey> keys() {
    return keys;
  }

  /** Whether the column is NOT NULL (on the source, and so on the target). */
  public boolean notNull(String column) {
    return notNull.contains(column);
  }

  /** What of the source definition the target does not hold, one line each. */
  public List<String> notes() {
    return notes;
  }

  /**
   * {@code CREATE TABLE} for a (staging) table of this definition, without keys; what the target
   * leaves out follows as {@code --} comment lines (printed by a dry run).
   */
  public String createSql(String table, String collation) {
    StringBuilder sb = new StringBuilder("CREATE TABLE ").append(MariaDbSql.quote(table)).append(" (");
    String sep = "\n  ";
    for (MariaDbColumn c : columns) {
      sb.append(sep).append(MariaDbSql.quote(c.name())).append(' ').append(c.targetType());
      sb.append(notNull.contains(c.name()) ? " NOT NULL" : " NULL");
      if (defaults.containsKey(c.name())) {
        sb.append(" DEFAULT ").append(defaults.get(c.name()));
      }
      if (comments.containsKey(c.name())) {
        sb.append(" COMMENT ").append(MariaDbSql.literal(comments.get(c.name())));
      }
      sep = ",\n  ";
    }
    sb.append("\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=").append(collation);
    if (tableComment != null) {
      sb.append(" COMMENT=").append(MariaDbSql.literal(tableComment));
    }
    for (String note : notes) { // shown by --dryRun; the server ignores them
      sb.append("\n-- ").append(note.replace('\n', ' '));
    }
    return sb.toString();
  }

  /**
   * One {@code ALTER TABLE} adding the primary key, unique keys and indexes after the load (one table
   * rebuild, its rows sorted once); null when there are none.
   */
  public String keySql(String table) {
    List<String> adds = new ArrayList<>();
    for (MariaDbKey k : keys) {
      adds.add("ADD " + k.clause());
    }
    return adds.isEmpty() ? null : "ALTER TABLE " + MariaDbSql.quote(table) + " " + String.join(", ", adds);
  }

  /**
   * Column name → type as {@code information_schema.COLUMNS.COLUMN_TYPE} shows it once created
   * (integer display widths removed), plus " not null": compared with an existing target table.
   */
  public Map<String, String> expectedColumns() {
    Map<String, String> m = new LinkedHashMap<>();
    for (MariaDbColumn c : columns) {
      m.put(c.name(), normalizeType(c.targetType()) + (notNull.contains(c.name()) ? " not null" : ""));
    }
    return m;
  }

  /** A COLUMN_TYPE without integer display widths, lower case, BOOLEAN as tinyint(1). */
  public static String normalizeType(String columnType) {
    String t = columnType.toLowerCase(Locale.ROOT).strip();
    if (t.equals("boolean") || t.equals("bool")) {
      return "tinyint(1)";
    }
    t = t.replaceAll("^(smallint|mediumint|int|bigint)\\(\\d+\\)", "$1").replace("datetime(0)", "datetime");
    return t;
  }

  /** The LOAD DATA column list, in table order. */
  public String loadColumns() {
    List<String> out = new ArrayList<>();
    for (MariaDbColumn c : columns) {
      out.add(MariaDbSql.quote(c.name()));
    }
    return "(" + String.join(", ", out) + ")";
  }

  /** The source's COPY select list rendering values LOAD DATA reads back exactly. */
  public String sourceSelectList() {
    List<String> out = new ArrayList<>();
    for (MariaDbColumn c : columns) {
      out.add(c.sourceSelect());
    }
    return String.join(", ", out);
  }
}
