package org.warehouse.pipelines.promote.targetdb;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.transforms.jdbc.PublishGuard;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.tablecopy.TableChecksum;

/**
 * Everything promote says to the target database, and nothing else does: identifier quoting, the
 * run lock, lock timeouts, what exists there, DDL for a {@link TableDefinition} (read from the
 * PostgreSQL source), the bulk load of COPY text rows, row count and checksum, ANALYZE, staging
 * tables (names, leftovers, drops) and the atomic publish. A second kind of target database is a
 * second implementation of this interface, chosen by {@link Targets#open} from the {@code
 * --targetUrl} scheme; the Beam graph only sees the serializable {@link #loader()}.
 *
 * <p>Methods taking a {@link Connection} run on one the caller opened with {@link #connect} (the
 * driver's DDL connection or one of its worker connections); they do not close it.
 */
public interface TargetDatabase {
  /** The database product, for messages ("PostgreSQL"). */
  String product();

  /** A new connection, named {@code applicationName} where the server shows sessions. */
  Connection connect(String applicationName) throws SQLException;

  /** One identifier quoted for this database's SQL. */
  String quoteIdent(String identifier);

  /** {@code schema.table}, both quoted. */
  default String quoted(TableRef table) {
    return quoteIdent(table.schema()) + "." + quoteIdent(table.name());
  }

  /**
   * Takes the lock that keeps two runs of {@code pipeline} against this database apart, or throws
   * {@link org.warehouse.pipelines.common.LockHeldException} naming the holder (exit 3). The lock is
   * a {@link PublishGuard}: {@link #publish} proves inside its transaction that it is still held.
   */
  RunLock acquireRunLock(String pipeline) throws SQLException;

  /** Lock waits of the session end after {@code seconds} (an error {@link #isLockTimeout} knows). */
  void setLockTimeout(Connection c, int seconds) throws SQLException;

  /** True when {@code e} (or a cause) is this database's lock-wait timeout. */
  boolean isLockTimeout(Throwable e);

  /** What the target holds under {@code table}, compared with the source's definition. */
  TargetTable inspect(Connection c, TableRef table, TableDefinition source) throws SQLException;

  /** Statements that create {@code schema} when it is missing (none when it cannot be). */
  List<String> createSchemaSql(String schema);

  /** Statements creating the empty staging table: columns, NOT NULL, defaults, comments; no keys. */
  List<String> createTableSql(TableDefinition source, TableRef staging);

  /** Keys, constraints and indexes of the source table, added to the loaded staging table. */
  List<String> keysAndIndexesSql(TableDefinition source, TableRef staging);

  /** Loads COPY text rows into staging tables; shipped to the pipeline's workers. */
  BulkLoader loader();

  /**
   * The parts a table's checksum is computed in, each on a connection of its own (predicates for
   * {@link #checksum}, null meaning every row); one part when the table is small.
   */
  List<String> checksumSlices(Connection c, TableRef table) throws SQLException;

  /** Row count and content checksum of the rows of {@code table} that {@code slice} selects. */
  TableChecksum checksum(Connection c, TableRef table, TableDefinition definition, String slice)
      throws SQLException;

  /**
   * The same checksum, computed on the PostgreSQL source (in the run's snapshot, which the caller
   * opened on {@code source}) for the rows {@code slice} (a ctid predicate or null) selects: equal to
   * {@link #checksum} of a faithful copy.
   */
  TableChecksum sourceChecksum(Connection source, TableRef table, TableDefinition definition, String slice)
      throws SQLException;

  /** Refreshes the planner statistics of a loaded table. */
  void analyze(Connection c, TableRef table) throws SQLException;

  /** This run's staging table for {@code target}: unique per run, so two runs never share one. */
  TableRef stagingName(TableRef target, String runId);

  /** Staging tables for {@code target} left by runs that did not finish (call with the run lock held). */
  List<TableRef> leftovers(Connection c, TableRef target) throws SQLException;

  /** Drops a dead run's staging tables, saying so on {@code progress}, one line each. */
  void dropLeftovers(Connection c, List<TableRef> tables, Progress progress) throws SQLException;

  /** Drops tables on a fresh connection (the run's own may be gone); failures print one line each. */
  void dropQuietly(Collection<TableRef> tables);

  /**
   * Publishes every staging table as its target in ONE transaction: all or none, {@code guard}
   * checked last before the commit. Returns, per table and in order, how it was published
   * ("created", "swapped (rename)", "replaced in place (dependent objects kept)").
   */
  List<String> publish(Connection c, List<StagedTable> tables, int lockTimeoutSeconds, PublishGuard guard)
      throws SQLException;
}
