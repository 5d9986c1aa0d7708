package org.warehouse.pipelines.promote.targetdb;

import java.io.Serializable;
import java.sql.SQLException;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Loads rows in PostgreSQL's COPY text format (tab-separated, backslash escapes, {@code \N} for
 * NULL, one row per line; what the source's {@code COPY … TO STDOUT} writes) into staging tables.
 * Serializable: the pipeline's workers each open their own {@link Session}.
 */
public interface BulkLoader extends Serializable {
  /** One worker's connection to the target. */
  Session open(String applicationName) throws SQLException;

  /** A connection loading rows; committed per {@link #load} call. */
  interface Session extends AutoCloseable {
    /**
     * Loads complete lines (each ending in a newline) holding the table's non-generated columns in
     * table order ({@link org.warehouse.transforms.jdbc.TableDefinition#copyColumns()}).
     */
    void load(TableRef table, String copyText) throws SQLException;

    @Override
    void close() throws SQLException;
  }
}
