package org.warehouse.pipelines;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.warehouse.pipelines.dedupe.DedupeSql;
import org.warehouse.pipelines.dedupe.DedupePipeline;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;

/** Shared helpers of the Dedupe*Test classes: options, hand-built tables, SQL oracles. */
final class DedupeTestSupport {
  private DedupeTestSupport() {}

  static DedupePipeline.DedupeOptions options(TestDatabase db, String... args) {
    List<String> a = new ArrayList<>(Arrays.asList(db.connectionArgs()));
    a.addAll(Arrays.asList(args));
    if (a.stream().noneMatch(s -> s.startsWith("--runner="))) {
      a.add("--runner=DirectRunner");
    }
    return PipelineOptionsFactory.fromArgs(a.toArray(new String[0])).as(DedupePipeline.DedupeOptions.class);
  }

  /** What one in-process launcher run ({@code scripts/run dedupe …}) returned and printed. */
  static final class Launch {
    final int code;
    final String out;
    final String err;

    Launch(int code, String out, String err) {
      this.code = code;
      this.out = out;
      this.err = err;
    }
  }

  /** Runs {@code dedupe} with the test database's connection arguments and {@code args} through {@link Main}. */
  static Launch launchDedupe(TestDatabase db, String... args) {
    List<String> a = new ArrayList<>(List.of("dedupe"));
    a.addAll(Arrays.asList(db.connectionArgs()));
    a.addAll(Arrays.asList(args));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code = Main.run(a.toArray(new String[0]), new PrintStream(out, true, StandardCharsets.UTF_8),
        new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Launch(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /**
   * A hand-built table {@code schema.t}: {@code rows} rows over 50 x 3 keys (a, b) with payloads that
   * differ per row, synced_at in 20 whole hours (many ties), every 97th synced_at NULL, plus rows
   * with a NULL key column (two of them with the same non-NULL part).
   */
  static void createHandBuilt(Connection c, String schema, int rows) throws SQLException {
    Db.execute(c, "CREATE SCHEMA IF NOT EXISTS " + schema);
    Db.execute(c, "CREATE TABLE " + schema + ".t (id bigserial PRIMARY KEY, a bigint, b bigint, payload text, "
        + "n integer, synced_at timestamptz)");
    Db.execute(c, "INSERT INTO " + schema + ".t (a, b, payload, n, synced_at) SELECT g % 50, (g * 7) % 3, 'p' || g, g, "
        + "CASE WHEN g % 97 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00+00' + ((g * 37) % 20) * interval '1 hour' END "
        + "FROM generate_series(1, " + rows + ") g");
    Db.execute(c, "INSERT INTO " + schema + ".t (a, b, payload, n, synced_at) VALUES "
        + "(NULL, 1, 'null a', 1, now()), (NULL, 1, 'null a again', 2, now()), (7, NULL, 'null b', 3, now())");
  }

  /** The rows {@code SELECT DISTINCT ON (key) … ORDER BY key, latest DESC, id DESC} keeps, plus NULL-key rows. */
  static String oracle(String source, String keys, String notNull, String anyNull) {
    return "(SELECT DISTINCT ON (" + keys + ") * FROM " + source + " WHERE " + notNull + " ORDER BY " + keys
        + ", synced_at DESC, id DESC) UNION ALL (SELECT * FROM " + source + " WHERE " + anyNull + ")";
  }

  /** Rows in a but not b plus rows in b but not a (0 = same multiset of distinct rows, both ways). */
  static long exceptBothWays(Connection c, String a, String b) throws SQLException {
    return Db.queryLong(c, "SELECT (SELECT count(*) FROM ((" + a + ") EXCEPT ALL (" + b + ")) x) + "
        + "(SELECT count(*) FROM ((" + b + ") EXCEPT ALL (" + a + ")) y)");
  }

  static String checksum(Connection c, String table) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM " + table) + "/"
        + Db.queryString(c, "SELECT " + DedupeSql.checksumExpr("t") + " FROM " + table + " AS t");
  }
}
