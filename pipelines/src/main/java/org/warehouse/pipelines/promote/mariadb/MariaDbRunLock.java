package org.warehouse.pipelines.promote.mariadb;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HexFormat;
import org.warehouse.pipelines.common.LockHeldException;
import org.warehouse.pipelines.promote.targetdb.RunLock;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * One run's lock on a MariaDB/MySQL target database: a named user lock ({@code GET_LOCK}) held by a
 * connection of its own for the whole run, released when that connection ends (a killed run never
 * leaves it behind). A second run fails at once with {@link LockHeldException} (exit 3).
 */
final class MariaDbRunLock implements RunLock {
  private final Connection connection;
  private final String name;
  private final long connectionId;

  private MariaDbRunLock(Connection connection, String name, long connectionId) {
    this.connection = connection;
    this.name = name;
    this.connectionId = connectionId;
  }

  static MariaDbRunLock acquire(MariaDbConfig config, String pipeline) throws SQLException {
    Connection c = config.connect("warehouse-lock-" + pipeline);
    try {
      String database = scalar(c, "SELECT DATABASE()", null);
      String name = lockName(pipeline, database);
      if ("1".equals(scalar(c, "SELECT GET_LOCK(?, 0)", name))) {
        return new MariaDbRunLock(c, name, Long.parseLong(scalar(c, "SELECT CONNECTION_ID()", null)));
      }
      String holder = scalar(c, "SELECT CONCAT('connection ', p.ID, ', ', p.USER, '@', p.HOST, ', for ', p.TIME, ' s') "
          + "FROM information_schema.PROCESSLIST p WHERE p.ID = IS_USED_LOCK(?)", name);
      c.close();
      throw new LockHeldException("another '" + pipeline + "' run holds the lock on " + database + " ("
          + (holder == null ? "holder unknown" : holder) + "): wait for it to finish, or stop it, then re-run");
    } catch (SQLException | RuntimeException e) {
      if (!c.isClosed()) {
        c.close();
      }
      throw e;
    }
  }

  /** {@code warehouse-pipelines:<pipeline>:<database>}, hashed when longer than the 64 characters a lock name may have. */
  static String lockName(String pipeline, String database) {
    String name = "warehouse-pipelines:" + pipeline + ":" + database;
    if (name.length() <= 64) {
      return name;
    }
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return name.substring(0, 47) + ":" + HexFormat.of().formatHex(h, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void check(Connection c) throws SQLException {
    String holder = scalar(c, "SELECT IS_USED_LOCK(?)", name);
    if (holder == null || Long.parseLong(holder) != connectionId) {
      throw new WarehouseException("lost the run lock (connection to " + scalar(c, "SELECT DATABASE()", null)
          + " ended): nothing published");
    }
  }

  @Override
  public void close() throws SQLException {
    try {
      scalar(connection, "SELECT RELEASE_LOCK(?)", name);
    } finally {
      connection.close();
    }
  }

  static String scalar(Connection c, String sql, String parameter) throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      if (parameter != null) {
        ps.setString(1, parameter);
      }
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }
}
