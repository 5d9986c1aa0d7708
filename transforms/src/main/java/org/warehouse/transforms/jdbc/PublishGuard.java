package org.warehouse.transforms.jdbc;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * A last check inside a publish transaction, run on that transaction's connection just before COMMIT:
 * it throws when the run may no longer publish (e.g. it lost its run lock), so the transaction rolls
 * back and production stays as it was.
 */
@FunctionalInterface
public interface PublishGuard {
  PublishGuard NONE = c -> { };

  void check(Connection c) throws SQLException;
}
