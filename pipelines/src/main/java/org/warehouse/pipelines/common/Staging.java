package org.warehouse.pipelines.common;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.JdbcUrls;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * Staging and work tables: named per run ({@code <target>__<kind>_<runId>}) so two runs never share
 * one; a dead run's found and dropped by the next run, which says so; and a failed run's dropped on a
 * fresh connection, because the run's own connection may be what failed.
 */
public final class Staging {
  /** PostgreSQL's identifier limit (NAMEDATALEN - 1), in bytes. */
  static final int MAX_IDENTIFIER_BYTES = 63;
  static final int RUN_ID_LENGTH = 6;
  private static final String RUN_ID_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789";
  private static final SecureRandom RANDOM = new SecureRandom();

  private Staging() {}

  /** A new run id: six characters of {@code [a-z0-9]}. */
  public static String runId() {
    StringBuilder sb = new StringBuilder(RUN_ID_LENGTH);
    for (int i = 0; i < RUN_ID_LENGTH; i++) {
      sb.append(RUN_ID_CHARS.charAt(RANDOM.nextInt(RUN_ID_CHARS.length())));
    }
    return sb.toString();
  }

  /**
   * {@code <target>__<kind>_<runId>} in the target's schema; a name longer than PostgreSQL's 63 bytes
   * keeps a prefix of the target's name plus 8 hex digits of its hash (deterministic: the same target
   * and kind always give the same prefix, which {@link #leftovers} relies on).
   */
  public static TableRef name(TableRef target, String kind, String runId) {
    return target.withName(prefix(target, kind) + runId);
  }

  /** Everything of {@link #name} but the run id. */
  static String prefix(TableRef target, String kind) {
    String suffix = "__" + kind + "_";
    String base = target.name();
    if (bytes(base + suffix) + RUN_ID_LENGTH <= MAX_IDENTIFIER_BYTES) {
      return base + suffix;
    }
    String hash = "_" + shortHash(base);
    int room = MAX_IDENTIFIER_BYTES - RUN_ID_LENGTH - bytes(suffix) - hash.length();
    StringBuilder kept = new StringBuilder();
    for (int i = 0; i < base.length(); ) {
      int cp = base.codePointAt(i);
      String ch = new String(Character.toChars(cp));
      if (bytes(kept + ch) > room) {
        break;
      }
      kept.append(ch);
      i += Character.charCount(cp);
    }
    return kept + hash + suffix;
  }

  /** Tables named like {@code name(target, kind, <any run id>)}: what dead runs left behind. */
  public static List<TableRef> leftovers(Connection c, TableRef target, String kind) throws SQLException {
    String prefix = prefix(target, kind);
    List<TableRef> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(
        "SELECT k.relname FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace "
            + "WHERE n.nspname = ? AND k.relkind IN ('r', 'p') AND left(k.relname, ?) = ? "
            + "AND k.relname ~ ? ORDER BY 1")) {
      ps.setString(1, target.schema());
      ps.setInt(2, prefix.length());
      ps.setString(3, prefix);
      ps.setString(4, "[a-z0-9]{" + RUN_ID_LENGTH + "}$");
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (rs.getString(1).length() == prefix.length() + RUN_ID_LENGTH) {
            out.add(target.withName(rs.getString(1)));
          }
        }
      }
    }
    return out;
  }

  /** Drops {@code tables}, one line each: "{pipeline}: dropping {t}, left by a run that did not finish". */
  public static void dropLeftovers(Connection c, List<TableRef> tables, Progress progress, String pipeline)
      throws SQLException {
    for (TableRef t : tables) {
      progress.say("%s: dropping %s, left by a run that did not finish", pipeline, t);
      Db.dropIfExists(c, t);
    }
  }

  /**
   * Drops {@code tables} on a fresh connection (the run's own may be the one that failed); a failure
   * is one line on stderr ("the next run drops it"), never thrown: this runs while another error is
   * being reported.
   */
  public static void dropQuietly(JdbcConfig db, String pipeline, Collection<TableRef> tables) {
    if (tables.isEmpty()) {
      return;
    }
    try (Connection c = db.connect("warehouse-" + pipeline + "-cleanup")) {
      Db.execute(c, "SET lock_timeout = '5s'");
      for (TableRef t : tables) {
        try {
          Db.dropIfExists(c, t);
        } catch (SQLException e) {
          System.err.println(pipeline + ": could not drop " + t + ": " + oneLine(e) + "; the next run drops it");
        }
      }
    } catch (SQLException e) {
      System.err.println(pipeline + ": could not drop " + tables.size() + " staging table(s) (" + oneLine(e)
          + "); the next run drops them");
    }
  }

  private static String oneLine(Exception e) {
    String m = JdbcUrls.redact(String.valueOf(e.getMessage())).strip();
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  private static int bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  private static String shortHash(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
