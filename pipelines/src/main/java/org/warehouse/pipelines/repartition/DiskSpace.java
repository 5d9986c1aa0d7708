package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.warehouse.pipelines.common.CommandLineErrors;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Measures the free disk space where the new partitioned table will live, through the server:
 * PostgreSQL 15 has no SQL function for it, so {@code df -Pk <dir>} runs on the server with
 * {@code COPY <temp table> FROM PROGRAM} (a superuser or a member of {@code pg_execute_server_program}
 * only; other roles get "not checked"). Leaves nothing behind: the temp table is dropped at COMMIT.
 */
final class DiskSpace {
  /** Why the space is not checked for a role that may not run programs on the server. */
  static final String NOT_ALLOWED = "the role may not run server programs";

  /** Measures the free space for a table's new copy; a parameter of the pipeline so a test can stand in. */
  @FunctionalInterface
  interface Meter {
    FreeSpace measure(Connection c, TableShape shape) throws SQLException;
  }

  /** A df -P data line: filesystem, 1024-blocks, used, available, capacity%, mount point. */
  private static final Pattern DF_LINE = Pattern.compile("\\s(\\d+)\\s+(\\d+)\\s+(\\d+)\\s+\\d+%");

  /**
   * The tablespace of the new table (the table's own, else default_tablespace, else the database's),
   * its directory (pg_default: the data directory's base/, relative to the server's working directory,
   * which is the data directory, when the role may not read data_directory) and whether the role may
   * run server programs.
   */
  private static final String WHERE = "SELECT s.spcname, CASE WHEN s.spcname <> 'pg_default' "
      + "THEN pg_tablespace_location(s.oid) WHEN pg_has_role('pg_read_all_settings', 'USAGE') "
      + "THEN current_setting('data_directory') || '/base' ELSE 'base' END, "
      + "pg_has_role('pg_execute_server_program', 'USAGE') FROM pg_tablespace s WHERE s.spcname = coalesce(?, "
      + "nullif(current_setting('default_tablespace'), ''), (SELECT t.spcname FROM pg_database d "
      + "JOIN pg_tablespace t ON t.oid = d.dattablespace WHERE d.datname = current_database()))";

  private DiskSpace() {}

  /** The free space where {@code shape}'s new copy goes, or why it cannot be measured. */
  static FreeSpace measure(Connection c, TableShape shape) throws SQLException {
    String tablespace;
    String dir;
    try (PreparedStatement ps = c.prepareStatement(WHERE)) {
      ps.setString(1, shape.tablespace());
      try (ResultSet rs = ps.executeQuery()) {
        if (!rs.next()) {
          return FreeSpace.unchecked(shape.tablespace(), "its tablespace was not found");
        }
        tablespace = rs.getString(1);
        dir = rs.getString(2);
        if (!rs.getBoolean(3)) {
          return FreeSpace.unchecked(tablespace, NOT_ALLOWED);
        }
      }
    }
    List<String> lines;
    try {
      lines = df(c, dir);
    } catch (SQLException e) {
      return FreeSpace.unchecked(tablespace, "df " + dir + " failed on the server: "
          + CommandLineErrors.oneLine(e.getMessage()));
    }
    for (String line : lines) {
      Matcher m = DF_LINE.matcher(line);
      if (m.find()) {
        return new FreeSpace(tablespace, dir, Long.parseLong(m.group(3)) * 1024, leftoverBytes(c, shape.table()), null);
      }
    }
    return FreeSpace.unchecked(tablespace, "df " + dir + " printed no figure: " + String.join(" / ", lines));
  }

  /** {@code df -Pk '<dir>'}: the directory single-quoted for the shell. */
  static String dfCommand(String dir) {
    return "df -Pk '" + dir.replace("'", "'\\''") + "'";
  }

  /** df's output lines, read on the server into a temporary table dropped at COMMIT. */
  private static List<String> df(Connection c, String dir) throws SQLException {
    return Db.inTransaction(c, () -> {
      Db.execute(c, "CREATE TEMPORARY TABLE pg_temp.repartition_df (line text) ON COMMIT DROP");
      // one column per line: a delimiter df never prints
      Db.execute(c, "COPY pg_temp.repartition_df FROM PROGRAM " + Sql.literal(dfCommand(dir))
          + " WITH (FORMAT text, DELIMITER E'\\x1f')");
      try (PreparedStatement ps = c.prepareStatement("SELECT line FROM pg_temp.repartition_df WHERE line IS NOT NULL");
          ResultSet rs = ps.executeQuery()) {
        List<String> out = new ArrayList<>();
        while (rs.next()) {
          out.add(rs.getString(1));
        }
        return out;
      }
    });
  }

  /** Bytes of the work tables (with their partitions) a run that did not finish left: the run drops them first. */
  private static long leftoverBytes(Connection c, TableRef table) throws SQLException {
    long sum = 0;
    for (String kind : RepartitionPlan.WORK_KINDS) {
      for (TableRef t : Staging.leftovers(c, table, kind)) {
        // pg_partition_tree lists nothing for a table outside a partition tree (the ledger, the log)
        sum += Db.queryLong(c, "SELECT (pg_total_relation_size(r) + coalesce((SELECT sum(pg_total_relation_size("
            + "p.relid)) FROM pg_partition_tree(r) p WHERE p.relid <> r), 0))::bigint FROM (SELECT "
            + Sql.literal(t.quoted()) + "::regclass AS r) t");
      }
    }
    return sum;
  }
}
