package org.warehouse.pipelines.promote.mariadb;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.promote.targetdb.BulkLoader;
import org.warehouse.pipelines.promote.targetdb.RunLock;
import org.warehouse.pipelines.promote.targetdb.StagedTable;
import org.warehouse.pipelines.promote.targetdb.TargetDatabase;
import org.warehouse.pipelines.promote.targetdb.TargetTable;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * promote's MariaDB / MySQL target ({@code --targetUrl=jdbc:mariadb://…} or {@code jdbc:mysql://…}).
 * Tables live in the URL's database ({@code --schema} names the source's schema only). Definitions
 * are mapped by {@link MariaDbTable}, rows loaded by {@link MariaDbLoader}, verified with {@link
 * MariaDbChecksum} on both sides, and published by ONE multi-table {@code RENAME TABLE} (atomic:
 * readers see every old table or every new one), the old tables dropped after it.
 */
public final class MariaDbTarget implements TargetDatabase {
  static final String STAGING_KIND = "staging";
  static final String OLD_KIND = "old";
  /** MySQL 5.7/8 error 1205 (ER_LOCK_WAIT_TIMEOUT), also raised for metadata locks by RENAME/DDL. */
  static final int LOCK_WAIT_TIMEOUT = 1205;

  private final MariaDbConfig config;
  private final String pipeline;
  private volatile String collation = "utf8mb4_bin";

  public MariaDbTarget(MariaDbConfig config, String pipeline) {
    this.config = config;
    this.pipeline = pipeline;
  }

  @Override
  public String product() {
    return "MariaDB/MySQL";
  }

  @Override
  public Connection connect(String applicationName) throws SQLException {
    Connection c = config.connect(applicationName);
    String version = MariaDbRunLock.scalar(c, "SELECT VERSION()", null);
    // a binary collation without trailing-space padding: text compares as in PostgreSQL's C collation
    collation = version.contains("MariaDB") ? "utf8mb4_nopad_bin" : version.startsWith("5.") ? "utf8mb4_bin" : "utf8mb4_0900_bin";
    return c;
  }

  @Override
  public String quoteIdent(String identifier) {
    return MariaDbSql.quote(identifier);
  }

  /** The table in the connection's database: MariaDB's schema is the database of the URL. */
  @Override
  public String quoted(TableRef table) {
    return MariaDbSql.quote(table.name());
  }

  @Override
  public RunLock acquireRunLock(String name) throws SQLException {
    return MariaDbRunLock.acquire(config, name);
  }

  @Override
  public void setLockTimeout(Connection c, int seconds) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute("SET SESSION lock_wait_timeout = " + seconds + ", innodb_lock_wait_timeout = " + seconds);
    }
  }

  @Override
  public boolean isLockTimeout(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s && s.getErrorCode() == LOCK_WAIT_TIMEOUT) {
        return true;
      }
    }
    return false;
  }

  @Override
  public TargetTable inspect(Connection c, TableRef table, TableDefinition source) throws SQLException {
    MariaDbTable mapped = MariaDbTable.of(source); // refuses an unmappable column before anything changes
    return MariaDbInspect.inspect(c, table.name(), mapped);
  }

  @Override
  public List<String> createSchemaSql(String schema) {
    return List.of();
  }

  @Override
  public List<String> createTableSql(TableDefinition source, TableRef staging) {
    return List.of(MariaDbTable.of(source).createSql(staging.name(), collation));
  }

  @Override
  public List<String> keysAndIndexesSql(TableDefinition source, TableRef staging) {
    String sql = MariaDbTable.of(source).keySql(staging.name());
    return sql == null ? List.of() : List.of(sql);
  }

  @Override
  public BulkLoader loader() {
    return new MariaDbLoader(config);
  }

  @Override
  public List<String> checksumSlices(Connection c, TableRef table) {
    List<String> one = new ArrayList<>();
    one.add(null);
    return one;
  }

  @Override
  public TableChecksum checksum(Connection c, TableRef table, TableDefinition definition, String slice)
      throws SQLException {
    return MariaDbChecksum.compute(c, MariaDbChecksum.targetSql(MariaDbTable.of(definition), table.name()));
  }

  @Override
  public TableChecksum sourceChecksum(Connection source, TableRef table, TableDefinition definition, String slice)
      throws SQLException {
    String sql = MariaDbChecksum.sourceSql(MariaDbTable.of(definition), table);
    return MariaDbChecksum.compute(source, slice == null ? sql : sql + " WHERE " + slice);
  }

  @Override
  public void analyze(Connection c, TableRef table) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute("ANALYZE TABLE " + MariaDbSql.quote(table.name()));
    }
  }

  @Override
  public TableRef stagingName(TableRef target, String runId) {
    return Staging.name(target, STAGING_KIND, runId);
  }

  @Override
  public List<TableRef> leftovers(Connection c, TableRef target) throws SQLException {
    List<TableRef> out = new ArrayList<>();
    for (String kind : List.of(STAGING_KIND, OLD_KIND)) {
      String prefix = Staging.name(target, kind, "").name();
      try (PreparedStatement ps = c.prepareStatement("SELECT TABLE_NAME FROM information_schema.TABLES "
          + "WHERE TABLE_SCHEMA = DATABASE() AND LEFT(TABLE_NAME, ?) = ? AND CHAR_LENGTH(TABLE_NAME) = ? "
          + "AND TABLE_NAME REGEXP '[a-z0-9]{6}$' ORDER BY 1")) {
        ps.setInt(1, prefix.length());
        ps.setString(2, prefix);
        ps.setInt(3, prefix.length() + 6);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(target.withName(rs.getString(1)));
          }
        }
      }
    }
    return out;
  }

  @Override
  public void dropLeftovers(Connection c, List<TableRef> tables, Progress progress) throws SQLException {
    for (TableRef t : tables) {
      progress.say("%s: dropping %s, left by a run that did not finish", pipeline, t.name());
      drop(c, t.name());
    }
  }

  @Override
  public void dropQuietly(Collection<TableRef> tables) {
    if (tables.isEmpty()) {
      return;
    }
    try (Connection c = config.connect("warehouse-" + pipeline + "-cleanup")) {
      setLockTimeout(c, 5);
      for (TableRef t : tables) {
        try {
          drop(c, t.name());
        } catch (SQLException e) {
          System.err.println(pipeline + ": could not drop " + t.name() + ": " + e.getMessage() + "; the next run drops it");
        }
      }
    } catch (SQLException e) {
      System.err.println(pipeline + ": could not drop " + tables.size() + " staging table(s) (" + e.getMessage()
          + "); the next run drops them");
    }
  }

  @Override
  public List<String> publish(Connection c, List<StagedTable> tables, int lockTimeoutSeconds, PublishGuard guard)
      throws SQLException {
    Map<String, String> renames = new LinkedHashMap<>();
    List<String> old = new ArrayList<>();
    List<String> how = new ArrayList<>();
    for (StagedTable t : tables) {
      String target = t.target().name();
      MariaDbInspect.refuseForeignKeys(c, target);
      if (MariaDbInspect.exists(c, target)) {
        String suffix = t.staging().name().substring(Staging.name(t.target(), STAGING_KIND, "").name().length());
        String oldName = Staging.name(t.target(), OLD_KIND, suffix).name();
        renames.put(target, oldName);
        old.add(oldName);
        how.add("swapped (rename)");
      } else {
        how.add("created");
      }
      renames.put(t.staging().name(), target);
    }
    setLockTimeout(c, lockTimeoutSeconds);
    guard.check(c);
    List<String> pairs = new ArrayList<>();
    for (Map.Entry<String, String> e : renames.entrySet()) {
      pairs.add(MariaDbSql.quote(e.getKey()) + " TO " + MariaDbSql.quote(e.getValue()));
    }
    try (Statement st = c.createStatement()) {
      st.execute("RENAME TABLE " + String.join(", ", pairs)); // one statement: atomic
    }
    for (String o : old) {
      try {
        drop(c, o);
      } catch (SQLException e) {
        System.err.println(pipeline + ": published, but could not drop the old table " + o + ": " + e.getMessage()
            + "; the next run drops it");
      }
    }
    return how;
  }

  private static void drop(Connection c, String table) throws SQLException {
    try (Statement st = c.createStatement()) {
      st.execute("DROP TABLE IF EXISTS " + MariaDbSql.quote(table));
    }
  }
}
