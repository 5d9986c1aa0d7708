package org.warehouse.pipelines.repartition;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * What {@code scripts/run repartition} will do to one table, read from the catalog: the checks that
 * refuse a table it cannot move faithfully, the new table's DDL (monthly range partitions, keys widened
 * by the partition column, indexes, foreign keys, grants) and the names used by the swap and the
 * rollback. Nothing here changes the database.
 */
public final class RepartitionPlan {
  /** Suffix of the original table once replaced; {@code *_backup} is also what promote never copies. */
  public static final String BACKUP_SUFFIX = "_unpartitioned_backup";
  /** Suffix of the original's index names while it is the backup (stripped again by --rollback). */
  public static final String BACKUP_INDEX_SUFFIX = "__b";
  /** More months than this is almost always a wrong date in the data. */
  public static final int MAX_MONTHS = 1200;
  private static final DateTimeFormatter PARTITION_SUFFIX = DateTimeFormatter.ofPattern("'_p'yyyy'_'MM", Locale.ROOT);

  /** Kind of the partition column: how a month and a bound are written for it. */
  enum Kind {
    DATE("date"),
    TIMESTAMP("timestamp without time zone"),
    TIMESTAMPTZ("timestamp with time zone");

    final String type;

    Kind(String type) {
      this.type = type;
    }

    /** The first day of the value's month (timestamptz: in UTC), as a date. */
    String month(String expr) {
      return this == TIMESTAMPTZ ? "date_trunc('month', (" + expr + ") AT TIME ZONE 'UTC')::date"
          : "date_trunc('month', (" + expr + ")::timestamp)::date";
    }

    String bound(LocalDate d) {
      return "'" + d + (this == DATE ? "" : this == TIMESTAMP ? " 00:00:00" : " 00:00:00+00") + "'";
    }
  }

  /** One unique key of the original, as the partitioned table will have it. */
  static final class Key {
    final String name;
    final boolean constraint;
    final boolean primary;
    final List<String> columns;
    final boolean widened;

    Key(String name, boolean constraint, boolean primary, List<String> columns, boolean widened) {
      this.name = name;
      this.constraint = constraint;
      this.primary = primary;
      this.columns = columns;
      this.widened = widened;
    }
  }

  /** Sequences owned by a table's columns (serial): sequence → column. */
  private static final String OWNED_SEQUENCES = "SELECT s.oid::regclass::text, a.attname FROM pg_depend d "
      + "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
      + "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
      + "WHERE d.classid = 'pg_class'::regclass AND d.refobjid = ? AND d.deptype = 'a' ORDER BY 1";

  private final TableRef table;
  private final String column;
  private final Kind kind;
  private final long oid;
  private final long estimatedRows;
  private final long pages;
  private final String owner;
  private final String comment;
  private final List<String> columns;
  private final List<Key> keys;
  private final Map<String, String> indexes; // name -> "USING btree (col)" tail
  private final Map<String, String> foreignKeys; // name -> definition
  private final Map<String, String> ownedSequences; // quoted sequence -> column
  private final List<String> grants;
  private LocalDate firstMonth;
  private LocalDate lastMonth;

  private RepartitionPlan(TableRef table, String column, Kind kind, long oid, long estimatedRows, long pages,
      String owner, String comment, List<String> columns, List<Key> keys, Map<String, String> indexes,
      Map<String, String> foreignKeys, Map<String, String> ownedSequences, List<String> grants) {
    this.table = table;
    this.column = column;
    this.kind = kind;
    this.oid = oid;
    this.estimatedRows = estimatedRows;
    this.pages = pages;
    this.owner = owner;
    this.comment = comment;
    this.columns = columns;
    this.keys = keys;
    this.indexes = indexes;
    this.foreignKeys = foreignKeys;
    this.ownedSequences = ownedSequences;
    this.grants = grants;
  }

  /** The table's backup name once replaced. */
  public static TableRef backupOf(TableRef t) {
    return t.withSuffix(BACKUP_SUFFIX);
  }

  /** The partitioned table while it is being built (dropped by the next run if a run dies). */
  public static TableRef stagingOf(TableRef t) {
    return t.withSuffix("__repartition");
  }

  /** The copy's ledger of committed ranges. */
  public static TableRef ledgerOf(TableRef t) {
    return t.withSuffix("__repartition_ranges");
  }

  public TableRef table() {
    return table;
  }

  public String column() {
    return column;
  }

  public long oid() {
    return oid;
  }

  public long estimatedRows() {
    return estimatedRows;
  }

  public long pages() {
    return pages;
  }

  public String quotedColumns() {
    return Sql.quoteColumns(columns);
  }

  /**
   * Reads and checks the table. Returns null when it is already range-partitioned on {@code column}
   * (nothing to do); throws a {@link WarehouseException} naming the table and the way out otherwise.
   */
  public static RepartitionPlan inspect(Connection c, TableRef t, String column) throws SQLException {
    Sql.requireIdent("--partitionColumn", column);
    if (t.name().length() + BACKUP_SUFFIX.length() > 63) {
      throw new WarehouseException("table " + t + ": its name is too long for the backup name " + backupOf(t).name()
          + " (PostgreSQL's limit is 63 characters): rename the table first");
    }
    long oid;
    String relkind;
    boolean rowSecurity;
    long estimatedRows;
    long pages;
    String owner;
    String comment;
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT k.oid, k.relkind, k.relrowsecurity, greatest(k.reltuples, 0)::bigint, "
            + "pg_relation_size(k.oid) / current_setting('block_size')::bigint, pg_get_userbyid(k.relowner), "
            + "obj_description(k.oid, 'pg_class'), pg_get_partkeydef(k.oid) "
            + "FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE n.nspname = ? AND k.relname = ?")) {
      ps.setString(1, t.schema());
      ps.setString(2, t.name());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new WarehouseException("table " + t + " does not exist in database " + c.getCatalog()
              + ": check --table and --schema");
        }
        oid = rs.getLong(1);
        relkind = rs.getString(2);
        rowSecurity = rs.getBoolean(3);
        estimatedRows = rs.getLong(4);
        pages = rs.getLong(5);
        owner = rs.getString(6);
        comment = rs.getString(7);
        if ("p".equals(relkind)) {
          if (("RANGE (" + column + ")").equals(rs.getString(8)) || ("RANGE (" + Sql.quoteIdent(column) + ")")
              .equals(rs.getString(8))) {
            return null;
          }
          throw new WarehouseException("table " + t + " is already partitioned (" + rs.getString(8)
              + "), not by range of " + column + ": not changed");
        }
      }
    }
    if (!"r".equals(relkind)) {
      throw new WarehouseException(t + " is not an ordinary table (relkind " + relkind + "): not changed");
    }
    Kind kind = columnKind(c, t, oid, column);
    refuseWhat(c, t, oid, rowSecurity);
    List<String> columns = strings(c, "SELECT attname FROM pg_attribute WHERE attrelid = ? AND attnum > 0 "
        + "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", oid); // generated ones are computed again
    List<Key> keys = new ArrayList<>();
    Map<String, String> indexes = new LinkedHashMap<>();
    boolean notNull = Db.queryLong(c, "SELECT count(*) FROM pg_attribute WHERE attrelid = " + oid + " AND attname = "
        + Sql.literal(column) + " AND attnotnull") > 0;
    readIndexes(c, t, oid, column, notNull, keys, indexes);
    Map<String, String> fks = pairs(c, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        + "WHERE conrelid = ? AND contype = 'f' ORDER BY conname", oid);
    Map<String, String> sequences = pairs(c, OWNED_SEQUENCES, oid);
    List<String> grants = strings(c, "SELECT 'GRANT ' || a.privilege_type || ' ON {table} TO ' "
        + "|| CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END "
        + "|| CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END "
        + "FROM pg_class k, aclexplode(k.relacl) a WHERE k.oid = ? AND a.grantee <> k.relowner ORDER BY 1", oid);
    return new RepartitionPlan(t, column, kind, oid, estimatedRows, pages, owner, comment, columns, keys, indexes,
        fks, sequences, grants);
  }

  private static Kind columnKind(Connection c, TableRef t, long oid, String column) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT format_type(atttypid, NULL) FROM pg_attribute "
        + "WHERE attrelid = ? AND attname = ? AND attnum > 0 AND NOT attisdropped")) {
      ps.setLong(1, oid);
      ps.setString(2, column);
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          throw new WarehouseException("table " + t + " has no column " + column + ": check --partitionColumn");
        }
        for (Kind k : Kind.values()) {
          if (k.type.equals(rs.getString(1))) {
            return k;
          }
        }
        throw new WarehouseException("column " + t + "." + column + " is " + rs.getString(1)
            + ": monthly partitions need a date, timestamp or timestamptz column (--partitionColumn)");
      }
    }
  }

  /** Refuses what the move would break or lose: each names the objects and the way out. */
  private static void refuseWhat(Connection c, TableRef t, long oid, boolean rowSecurity) throws SQLException {
    refuseIfAny(c, t, "SELECT DISTINCT v.oid::regclass::text FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
        + "JOIN pg_class v ON v.oid = r.ev_class WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = ? "
        + "AND v.oid <> d.refobjid", oid, "views depend on it (they would keep reading the old table)",
        "drop them, repartition, then create them again");
    refuseIfAny(c, t, "SELECT conname || ' on ' || conrelid::regclass::text FROM pg_constraint "
        + "WHERE confrelid = ? AND contype = 'f'", oid, "foreign keys reference it",
        "drop them, repartition, then add them again (PostgreSQL 15 accepts them on a partitioned table)");
    refuseIfAny(c, t, "SELECT tgname FROM pg_trigger WHERE tgrelid = ? AND NOT tgisinternal", oid,
        "it has triggers (not carried over)", "drop them, repartition, then create them on the new table");
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

  private static void readIndexes(Connection c, TableRef t, long oid, String column, boolean notNull, List<Key> keys,
      Map<String, String> indexes) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT i.relname, x.indisunique, coalesce(pc.contype, ''), pg_get_indexdef(x.indexrelid), "
            + " x.indexprs IS NOT NULL OR x.indpred IS NOT NULL OR x.indnatts > x.indnkeyatts, "
            + " ARRAY(SELECT a.attname FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord) "
            + "       JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
            + "       WHERE k.ord <= x.indnkeyatts ORDER BY k.ord), "
            + " quote_ident(n.nspname) || '.' || quote_ident(k.relname) "
            + "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class k ON k.oid = x.indrelid "
            + "JOIN pg_namespace n ON n.oid = k.relnamespace "
            + "LEFT JOIN pg_constraint pc ON pc.conindid = x.indexrelid AND pc.conrelid = x.indrelid "
            + "WHERE x.indrelid = ? ORDER BY i.relname")) {
      ps.setLong(1, oid);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String name = rs.getString(1);
          if (name.length() + BACKUP_INDEX_SUFFIX.length() > 63) {
            throw new WarehouseException("index " + name + " of " + t + ": its name is too long to get the suffix "
                + BACKUP_INDEX_SUFFIX + " while the original is kept as the backup: rename it (ALTER INDEX … RENAME), "
                + "then re-run; nothing changed");
          }
          String contype = rs.getString(3);
          if ("x".equals(contype)) {
            throw new WarehouseException("table " + t + " has the exclusion constraint " + name + ", which a "
                + "partitioned table cannot enforce across partitions: drop it first; nothing changed");
          }
          if (rs.getBoolean(2)) {
            if (rs.getBoolean(5)) {
              throw new WarehouseException("unique index " + name + " of " + t + " has expressions, a WHERE clause or "
                  + "INCLUDE columns: it cannot be widened by the partition column " + column
                  + "; drop it first and re-create it on the partitioned table; nothing changed");
            }
            List<String> cols = new ArrayList<>(Arrays.asList((String[]) ((Array) rs.getArray(6)).getArray()));
            boolean widened = !cols.contains(column);
            if (widened) {
              cols.add(column);
              if ("p".equals(contype) && !notNull) {
                throw new WarehouseException("the primary key " + name + " of " + t + " would have to include " + column
                    + ", which allows NULL: make it NOT NULL first (ALTER TABLE " + t.quoted() + " ALTER COLUMN "
                    + Sql.quoteIdent(column) + " SET NOT NULL) or choose another --partitionColumn; nothing changed");
              }
            }
            keys.add(new Key(name, !contype.isEmpty(), "p".equals(contype), cols, widened));
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

  /** Reads the first and last month holding rows (an empty table: the current month). */
  public void readMonths(Connection c) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT " + kind.month("min(" + Sql.quoteIdent(column) + ")")
        + ", " + kind.month("max(" + Sql.quoteIdent(column) + ")") + " FROM " + table.quoted())) {
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        LocalDate now = LocalDate.now(ZoneOffset.UTC).withDayOfMonth(1);
        firstMonth = rs.getDate(1) == null ? now : rs.getDate(1).toLocalDate();
        lastMonth = rs.getDate(2) == null ? now : rs.getDate(2).toLocalDate();
      }
    }
  }

  /** The months that get a partition: first..last month with rows, then {@code monthsAhead} more. */
  public List<LocalDate> months(int monthsAhead) {
    List<LocalDate> out = new ArrayList<>();
    LocalDate end = lastMonth.plusMonths(monthsAhead);
    for (LocalDate m = firstMonth; !m.isAfter(end); m = m.plusMonths(1)) {
      out.add(m);
      if (out.size() > MAX_MONTHS) {
        throw new WarehouseException("table " + table + ": " + column + " spans " + firstMonth + " to " + lastMonth
            + ", more than " + MAX_MONTHS + " monthly partitions: check the column for wrong dates; nothing changed");
      }
    }
    return out;
  }

  public TableRef partition(LocalDate month) {
    return table.withSuffix(month.format(PARTITION_SUFFIX));
  }

  public TableRef defaultPartition() {
    return table.withSuffix("_pdefault");
  }

  /** The SQL expression giving a row's month (a date, NULL for NULL) of the partition column. */
  public String monthOf(String alias) {
    return kind.month(alias + "." + Sql.quoteIdent(column));
  }

  /** The staging parent and its partitions (no keys or indexes yet: they are built after the copy). */
  public List<String> createSql(int monthsAhead) {
    TableRef staging = stagingOf(table);
    List<String> out = new ArrayList<>();
    out.add("CREATE TABLE " + staging.quoted() + " (LIKE " + table.quoted() + " INCLUDING DEFAULTS INCLUDING "
        + "CONSTRAINTS INCLUDING GENERATED INCLUDING COMMENTS INCLUDING STORAGE INCLUDING COMPRESSION) "
        + "PARTITION BY RANGE (" + Sql.quoteIdent(column) + ")");
    if (comment != null) {
      out.add("COMMENT ON TABLE " + staging.quoted() + " IS " + Sql.literal(comment));
    }
    for (LocalDate m : months(monthsAhead)) {
      out.add("CREATE TABLE " + partition(m).quoted() + " PARTITION OF " + staging.quoted() + " FOR VALUES FROM ("
          + kind.bound(m) + ") TO (" + kind.bound(m.plusMonths(1)) + ")");
    }
    out.add("CREATE TABLE " + defaultPartition().quoted() + " PARTITION OF " + staging.quoted() + " DEFAULT");
    return out;
  }

  /** Keys, indexes, foreign keys and grants of the staging table, under temporary index names. */
  public List<String> keySql() {
    TableRef staging = stagingOf(table);
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, String> e : temporaryIndexNames().entrySet()) {
      Key key = keys.stream().filter(k -> k.name.equals(e.getValue())).findFirst().orElse(null);
      String name = Sql.quoteIdent(e.getKey());
      if (key == null) {
        out.add("CREATE INDEX " + name + " ON " + staging.quoted() + " " + indexes.get(e.getValue()));
      } else if (key.constraint) {
        out.add("ALTER TABLE " + staging.quoted() + " ADD CONSTRAINT " + name + (key.primary ? " PRIMARY KEY (" : " UNIQUE (")
            + Sql.quoteColumns(key.columns) + ")");
      } else {
        out.add("CREATE UNIQUE INDEX " + name + " ON " + staging.quoted() + " (" + Sql.quoteColumns(key.columns) + ")");
      }
    }
    for (Map.Entry<String, String> fk : foreignKeys.entrySet()) {
      out.add("ALTER TABLE " + staging.quoted() + " ADD CONSTRAINT " + Sql.quoteIdent(fk.getKey()) + " " + fk.getValue());
    }
    for (String g : grants) {
      out.add(g.replace("{table}", staging.quoted()));
    }
    return out;
  }

  /** Temporary name → final (the original's) name of every index of the new table. */
  public Map<String, String> temporaryIndexNames() {
    Map<String, String> m = new LinkedHashMap<>();
    int k = 0;
    for (Key key : keys) {
      m.put(temporaryName(key.name, k++), key.name);
    }
    for (String name : indexes.keySet()) {
      m.put(temporaryName(name, k++), name);
    }
    return m;
  }

  private static String temporaryName(String name, int k) {
    String suffix = "__r" + k;
    return (name.length() + suffix.length() > 63 ? name.substring(0, 63 - suffix.length()) : name) + suffix;
  }

  /**
   * The swap, to run in the transaction that holds the original's lock: the original becomes the
   * backup (its indexes get {@link #BACKUP_INDEX_SUFFIX}), the staging table takes its name and its
   * indexes the original names; sequences owned by the original's columns move to the new table.
   */
  public List<String> swapSql() {
    TableRef backup = backupOf(table);
    List<String> out = new ArrayList<>();
    out.add("ALTER TABLE " + table.quoted() + " RENAME TO " + Sql.quoteIdent(backup.name()));
    for (String name : temporaryIndexNames().values()) {
      out.add("ALTER INDEX " + table.withName(name).quoted() + " RENAME TO " + Sql.quoteIdent(name + BACKUP_INDEX_SUFFIX));
    }
    out.add("ALTER TABLE " + stagingOf(table).quoted() + " RENAME TO " + Sql.quoteIdent(table.name()));
    for (Map.Entry<String, String> e : temporaryIndexNames().entrySet()) {
      out.add("ALTER INDEX " + table.withName(e.getKey()).quoted() + " RENAME TO " + Sql.quoteIdent(e.getValue()));
    }
    for (Map.Entry<String, String> s : ownedSequences.entrySet()) {
      out.add("ALTER SEQUENCE " + s.getKey() + " OWNED BY " + table.quoted() + "." + Sql.quoteIdent(s.getValue()));
    }
    return out;
  }

  /**
   * The statements that put the backup back under the table's name, to run with both tables locked:
   * sequences owned by the partitioned table's columns go back to the original's, the partitioned
   * table is dropped, the original takes back its name and its index names.
   */
  public static List<String> rollbackSql(Connection c, TableRef t) throws SQLException {
    TableRef backup = backupOf(t);
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, String> s : pairs(c, OWNED_SEQUENCES, oidOf(c, t)).entrySet()) {
      out.add("ALTER SEQUENCE " + s.getKey() + " OWNED BY " + backup.quoted() + "." + Sql.quoteIdent(s.getValue()));
    }
    out.add("DROP TABLE " + t.quoted());
    for (String name : strings(c, "SELECT i.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        + "WHERE x.indrelid = ? ORDER BY 1", oidOf(c, backup))) {
      if (name.endsWith(BACKUP_INDEX_SUFFIX)) {
        out.add("ALTER INDEX " + t.withName(name).quoted() + " RENAME TO "
            + Sql.quoteIdent(name.substring(0, name.length() - BACKUP_INDEX_SUFFIX.length())));
      }
    }
    out.add("ALTER TABLE " + backup.quoted() + " RENAME TO " + Sql.quoteIdent(t.name()));
    return out;
  }

  private static long oidOf(Connection c, TableRef t) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("SELECT to_regclass(?)::oid::bigint")) {
      ps.setString(1, t.quoted());
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /** Owner change of the new table and its partitions, when the run's user is not the original's owner. */
  public List<String> ownerSql(String currentUser, int monthsAhead) {
    List<String> out = new ArrayList<>();
    if (owner.equals(currentUser)) {
      return out;
    }
    out.add("ALTER TABLE " + stagingOf(table).quoted() + " OWNER TO " + Sql.quoteIdent(owner));
    for (LocalDate m : months(monthsAhead)) {
      out.add("ALTER TABLE " + partition(m).quoted() + " OWNER TO " + Sql.quoteIdent(owner));
    }
    out.add("ALTER TABLE " + defaultPartition().quoted() + " OWNER TO " + Sql.quoteIdent(owner));
    return out;
  }

  /** One line per key whose columns change, for the plan. */
  public List<String> keyChanges() {
    List<String> out = new ArrayList<>();
    for (Key k : keys) {
      if (k.widened) {
        List<String> before = k.columns.subList(0, k.columns.size() - 1);
        out.add((k.primary ? "PRIMARY KEY " : "UNIQUE ") + k.name + " (" + String.join(", ", before) + ") becomes ("
            + String.join(", ", k.columns) + "): every unique key of a partitioned table must include " + column);
      }
    }
    return out;
  }

  public LocalDate firstMonth() {
    return firstMonth;
  }

  public LocalDate lastMonth() {
    return lastMonth;
  }

  private static List<String> strings(Connection c, String sql, long oid) throws SQLException {
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

  private static Map<String, String> pairs(Connection c, String sql, long oid) throws SQLException {
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
