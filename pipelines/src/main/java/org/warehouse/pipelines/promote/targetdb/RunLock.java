package org.warehouse.pipelines.promote.targetdb;

import java.sql.SQLException;
import org.warehouse.transforms.jdbc.PublishGuard;

/**
 * The lock one run holds on the target database for its whole length. {@link #check} (called by
 * the publish transaction, last before its commit) proves it is still held; {@link #close} releases
 * it.
 */
public interface RunLock extends PublishGuard, AutoCloseable {
  @Override
  void close() throws SQLException;
}
