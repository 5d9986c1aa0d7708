package org.warehouse.pipelines.promote.mariadb;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.promote.targetdb.BulkLoader;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Loads PostgreSQL COPY text into MariaDB/MySQL tables with {@code LOAD DATA LOCAL INFILE}, streamed
 * from memory ({@code setLocalInfileInputStream}: no file is written or read). COPY text and LOAD
 * DATA's default format agree (tab-separated, {@code \N} NULL, backslash escapes) but for {@code \f}
 * and {@code \v}, turned back into their bytes here, booleans ({@code t}/{@code f} → 1/0) and UTC
 * timestamps ({@code +00} dropped), converted by the statement's SET clause. Faster than multi-row
 * batched INSERTs (figures in docs/promote.md).
 *
 * <p>A LOAD that reports a warning (a value truncated or converted) or loads another number of rows
 * than it was given fails the run; the staging table is dropped, production unchanged.
 */
public final class MariaDbLoader implements BulkLoader {
  private static final long serialVersionUID = 1L;

  private final MariaDbConfig config;

  public MariaDbLoader(MariaDbConfig config) {
    this.config = config;
  }

  @Override
  public Session open(String applicationName) throws SQLException {
    Connection c = config.connect(applicationName);
    c.setAutoCommit(true);
    Map<String, String> statements = new HashMap<>();
    return new Session() {
      @Override
      public void load(TableRef table, String copyText) throws SQLException {
        String sql = statements.get(table.name());
        if (sql == null) {
          sql = loadSql(c, table.name());
          statements.put(table.name(), sql);
        }
        MariaDbLoader.load(c, table.name(), sql, copyText);
      }

      @Override
      public void close() throws SQLException {
        c.close();
      }
    };
  }

  static void load(Connection c, String table, String sql, String copyText) throws SQLException {
    long rows = 0;
    for (int i = copyText.indexOf('\n'); i >= 0; i = copyText.indexOf('\n', i + 1)) {
      rows++;
    }
    long n;
    try (org.mariadb.jdbc.Statement st = c.createStatement().unwrap(org.mariadb.jdbc.Statement.class)) {
      st.setLocalInfileInputStream(new ByteArrayInputStream(toLoadData(copyText)));
      n = st.executeLargeUpdate(sql);
      SQLWarning w = st.getWarnings();
      if (w != null) {
        throw new WarehouseException("loading rows into " + table + " on the target: " + w.getMessage()
            + " (a value the target's type does not hold exactly); production unchanged");
      }
    }
    if (n != rows) {
      throw new WarehouseException("LOAD DATA into " + table + " loaded " + n + " rows of " + rows
          + "; production unchanged");
    }
  }

  /**
   * The LOAD DATA statement for a table: its columns in table order; booleans ({@code tinyint(1)})
   * and {@code datetime} columns through a user variable and a SET clause.
   */
  static String loadSql(Connection c, String table) throws SQLException {
    List<String> targets = new ArrayList<>();
    List<String> sets = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS "
        + "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          String col = MariaDbSql.quote(rs.getString(1));
          String v = "@v" + targets.size();
          if ("tinyint(1)".equalsIgnoreCase(rs.getString(3))) {
            targets.add(v);
            sets.add(col + " = CASE " + v + " WHEN 't' THEN 1 WHEN 'f' THEN 0 WHEN '1' THEN 1 WHEN '0' THEN 0 END");
          } else if ("datetime".equalsIgnoreCase(rs.getString(2))) {
            targets.add(v);
            sets.add(col + " = IF(" + v + " LIKE '%+00', LEFT(" + v + ", CHAR_LENGTH(" + v + ") - 3), " + v + ")");
          } else {
            targets.add(col);
          }
        }
      }
    }
    if (targets.isEmpty()) {
      throw new WarehouseException("table " + table + " does not exist on the target");
    }
    return "LOAD DATA LOCAL INFILE 'promote.tsv' INTO TABLE " + MariaDbSql.quote(table)
        + " CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ("
        + String.join(", ", targets) + ")" + (sets.isEmpty() ? "" : " SET " + String.join(", ", sets));
  }

  /** COPY text → LOAD DATA text: {@code \f} and {@code \v} (COPY's escapes LOAD DATA lacks) as raw bytes. */
  static byte[] toLoadData(String chunk) {
    if (chunk.indexOf("\\f") < 0 && chunk.indexOf("\\v") < 0) {
      return chunk.getBytes(StandardCharsets.UTF_8);
    }
    StringBuilder sb = new StringBuilder(chunk.length());
    for (int i = 0; i < chunk.length(); i++) {
      char ch = chunk.charAt(i);
      if (ch == '\\' && i + 1 < chunk.length()) {
        char next = chunk.charAt(++i);
        if (next == 'f') {
          sb.append('\f');
        } else if (next == 'v') {
          sb.append('\u000b');
        } else {
          sb.append(ch).append(next);
        }
      } else {
        sb.append(ch);
      }
    }
    return sb.toString().getBytes(StandardCharsets.UTF_8);
  }
}
