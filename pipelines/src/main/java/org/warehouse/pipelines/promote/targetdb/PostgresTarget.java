package org.warehouse.pipelines.promote.targetdb;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.common.PipelineLock;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.LockTimeouts;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.TableSwap;
import org.warehouse.transforms.tablecopy.CtidRanges;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * A PostgreSQL target: the staging tables are created from the source's catalog definition
 * (identical types), loaded with {@code COPY … FROM STDIN}, checksummed with {@link TableChecksum}
 * (in ctid ranges of {@link #CHECKSUM_PAGES} pages for big tables) and published with {@link
 * TableSwap} in one transaction; the run lock is a session-level advisory lock ({@link PipelineLock}).
 */
public final class PostgresTarget implements TargetDatabase {
  /** Pages per checksum query: bigger tables are summed in several ctid ranges, in parallel. */
  static final long CHECKSUM_PAGES = 1500;
  /** Kind of work table in {@link Staging#name}: {@code <target>__staging_<runId>}. */
  static final String STAGING_KIND = "staging";

  private final JdbcConfig config;
  private final String pipeline;

  public PostgresTarget(JdbcConfig config, String pipeline) {
    this.config = config;
    this.pipeline = pipeline;
  }

  @Override
  public String product() {
    return "PostgreSQL";
  }

  /** How to connect (the URL never holds a password). */
  public JdbcConfig config() {
    return config;
  }

  @Override
  public Connection connect(String applicationName) throws SQLException {
    return config.connect(applicationName);
  }

  @Override
  public String quoteIdent(String identifier) {
    return Sql.quoteIdent(identifier);
  }

  @Override
  public RunLock acquireRunLock(String name) throws SQLException {
    PipelineLock lock = PipelineLock.acquire(config, name);
    return new RunLock() {
      @Override
      public void check(Connection c) throws SQLException {
        lock.check(c);
      }

      @Override
      public void close() throws SQLException {
        lock.close();
      }
    };
  }

  @Override
  public void setLockTimeout(Connection c, int seconds) throws SQLException {
    LockTimeouts.set(c, seconds);
  }

  @Override
  public boolean isLockTimeout(Throwable e) {
    return LockTimeouts.isLockTimeout(e);
  }

  @Override
  public TargetTable inspect(Connection c, TableRef table, TableDefinition source) throws SQLException {
    Map<String, String> columns = Db.columns(c, table);
    if (columns.isEmpty()) {
      return TargetTable.absent();
    }
    return new TargetTable(true, columns.equals(source.columnTypes()), TableSwap.hasDependents(c, table),
        columns.toString());
  }

  @Override
  public List<String> createSchemaSql(String schema) {
    return List.of("CREATE SCHEMA IF NOT EXISTS " + Sql.quoteIdent(schema));
  }

  @Override
  public List<String> createTableSql(TableDefinition source, TableRef staging) {
    return source.createSql(staging);
  }

  @Override
  public List<String> keysAndIndexesSql(TableDefinition source, TableRef staging) {
    return source.indexSql(staging);
  }

  @Override
  public BulkLoader loader() {
    return new PostgresLoader(config);
  }

  @Override
  public List<String> checksumSlices(Connection c, TableRef table) throws SQLException {
    long pages = Db.queryLong(c, "SELECT pg_relation_size(" + Sql.literal(table.quoted())
        + "::regclass) / current_setting('block_size')::bigint");
    return ctidSlices(pages);
  }

  /** Ctid predicates of about {@link #CHECKSUM_PAGES} pages each; {null} (every row) for a small table. */
  public static List<String> ctidSlices(long pages) {
    List<String> out = new ArrayList<>();
    if (pages <= CHECKSUM_PAGES) {
      out.add(null);
      return out;
    }
    for (CtidRanges.PageRange r : CtidRanges.pages(pages, pages, CHECKSUM_PAGES)) {
      out.add(r.where());
    }
    return out;
  }

  @Override
  public TableChecksum checksum(Connection c, TableRef table, TableDefinition definition, String slice)
      throws SQLException {
    return TableChecksum.of(c, table, slice);
  }

  @Override
  public TableChecksum sourceChecksum(Connection source, TableRef table, TableDefinition definition, String slice)
      throws SQLException {
    return TableChecksum.of(source, table, slice);
  }

  @Override
  public void analyze(Connection c, TableRef table) throws SQLException {
    Db.execute(c, "ANALYZE " + table.quoted());
  }

  @Override
  public TableRef stagingName(TableRef target, String runId) {
    return Staging.name(target, STAGING_KIND, runId);
  }

  @Override
  public List<TableRef> leftovers(Connection c, TableRef target) throws SQLException {
    return Staging.leftovers(c, target, STAGING_KIND);
  }

  @Override
  public void dropLeftovers(Connection c, List<TableRef> tables, Progress progress) throws SQLException {
    Staging.dropLeftovers(c, tables, progress, pipeline);
  }

  @Override
  public void dropQuietly(Collection<TableRef> tables) {
    Staging.dropQuietly(config, pipeline, tables);
  }

  @Override
  public List<String> publish(Connection c, List<StagedTable> tables, int lockTimeoutSeconds, PublishGuard guard)
      throws SQLException {
    List<TableSwap.Swap> swaps = new ArrayList<>();
    for (StagedTable t : tables) {
      swaps.add(new TableSwap.Swap(t.staging(), t.target(), t.definition().indexNames()));
    }
    List<String> how = new ArrayList<>();
    for (String h : TableSwap.publish(c, swaps, lockTimeoutSeconds, guard)) {
      how.add(h.substring(h.indexOf(": ") + 2));
    }
    return how;
  }
}
