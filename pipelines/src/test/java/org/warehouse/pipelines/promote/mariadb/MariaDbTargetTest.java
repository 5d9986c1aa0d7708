package org.warehouse.pipelines.promote.mariadb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertThrows;

import java.io.StringWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.postgresql.PGConnection;
import org.warehouse.pipelines.promote.targetdb.BulkLoader;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.TableChecksum;
import org.warehouse.testing.TestDatabase;

/**
 * The MariaDB target's pieces against a real PostgreSQL source and a real MariaDB: mapped DDL, the
 * load of the source's COPY text, both checksums. Oracle: every row read back through JDBC from both
 * servers and rendered by Java ({@link MariaDbRows}), and information_schema for the keys.
 */
public class MariaDbTargetTest {
  @Rule public final TestDatabase source = new TestDatabase();
  @Rule public final MariaDbTestDatabase target = new MariaDbTestDatabase();

  static final TableRef MIX = TableRef.of("public", "agg_mix");

  @Before
  public void createSource() throws SQLException {
    try (Connection c = source.connect()) {
      Db.execute(c, "CREATE TABLE agg_mix (id bigint PRIMARY KEY, small smallint NOT NULL DEFAULT 7, i integer, "
          + "amount numeric(12,3) DEFAULT 1.5, ratio double precision, r real, name text DEFAULT 'n/a', "
          + "code varchar(10), uf char(2), d date, ts timestamp, tstz timestamptz, flag boolean DEFAULT true, "
          + "js jsonb, u uuid, CONSTRAINT agg_mix_code_key UNIQUE (code))");
      Db.execute(c, "COMMENT ON TABLE agg_mix IS 'mixed types: ação'");
      Db.execute(c, "COMMENT ON COLUMN agg_mix.name IS 'município'");
      Db.execute(c, "CREATE INDEX agg_mix_d_i ON agg_mix (d DESC, i)");
      Db.execute(c, "CREATE INDEX agg_mix_partial ON agg_mix (i) WHERE i > 10");
      Db.execute(c, "CREATE INDEX agg_mix_lower ON agg_mix (lower(name))");
      Db.execute(c, "INSERT INTO agg_mix SELECT g, g % 300, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 11 END, "
          + "g * 1.001, sqrt(g) * CASE WHEN g % 2 = 0 THEN -1 ELSE 1 END, (g / 7.0)::real, "
          + "CASE g % 5 WHEN 0 THEN NULL WHEN 1 THEN 'Goianésia ' || g WHEN 2 THEN E'tab\\there ' || g "
          + "  WHEN 3 THEN E'back\\\\slash\\nnew line\\r' || g ELSE 'São João d''Aliança ' || g || '  ' END, "
          + "'c' || g, chr(65 + g % 26) || chr(65 + g / 26 % 26), date '2015-01-01' + g, "
          + "timestamp '2020-01-01 00:00' + g * interval '61.123457 seconds', "
          + "timestamptz '2020-01-01 00:00+00' + g * interval '1 hour 3 seconds', g % 3 = 0, "
          + "jsonb_build_object('g', g, 'nome', 'Xô'), md5(g::text)::uuid FROM generate_series(1, 600) g");
      Db.execute(c, "INSERT INTO agg_mix (id, small, ratio, r, name, code) VALUES "
          + "(1001, -32768, 1e-300, 3.4e38, E'form\\ffeed\\vvtab', 'x1'), (1002, 32767, 1e300, 1.17549435e-38, '', 'x2'), "
          + "(1003, 0, 0.1, 0.1, ' leading and trailing ', 'x3'), (1004, 1, 9007199254740993, -0.0, 'x', 'x4'), "
          + "(1005, 2, 4.9e-324, 1e-45, 'subnormal', 'x5'), (1006, 3, -2.5e-310, 16777217, 'emoji 😀', 'x6')");
    }
  }

  private MariaDbTarget target() {
    return new MariaDbTarget(target.config(), "promote");
  }

  /** Creates agg_mix on MariaDB through the target, loads the source's COPY text, adds the keys. */
  private TableDefinition copy(MariaDbTarget t, TableRef staging) throws Exception {
    TableDefinition def;
    StringWriter text = new StringWriter();
    try (Connection src = source.connect()) {
      def = TableDefinition.read(src, MIX);
      Db.execute(src, TableChecksum.SESSION_SETTINGS);
      ((PGConnection) src.unwrap(PGConnection.class)).getCopyAPI()
          .copyOut("COPY (SELECT * FROM " + MIX.quoted() + ") TO STDOUT", text);
    }
    try (Connection tgt = t.connect("test")) {
      for (String ddl : t.createTableSql(def, staging)) {
        Db.execute(tgt, ddl);
      }
      try (BulkLoader.Session s = t.loader().open("test-loader")) {
        s.load(staging, text.toString());
      }
      for (String ddl : t.keysAndIndexesSql(def, staging)) {
        Db.execute(tgt, ddl);
      }
    }
    return def;
  }

  @Test
  public void rowsKeysAndChecksumsSurviveTheTripToMariaDb() throws Exception {
    MariaDbTarget t = target();
    TableRef staging = MIX.withName("agg_mix");
    TableDefinition def = copy(t, staging);
    try (Connection src = source.connect(); Connection tgt = t.connect("test")) {
      List<String> expected = MariaDbRows.postgres(src, "agg_mix");
      MariaDbRows.assertSame(expected, MariaDbRows.mariadb(target, "agg_mix"));
      assertThat(expected.size(), equalTo(606));
      assertThat(t.checksum(tgt, staging, def, null), equalTo(t.sourceChecksum(src, MIX, def, null)));
      assertThat(Db.queryString(tgt, "SELECT GROUP_CONCAT(CONCAT(INDEX_NAME, ':', NON_UNIQUE, ':', COLUMN_NAME, ':', "
          + "COALESCE(COLLATION, '')) ORDER BY INDEX_NAME, SEQ_IN_INDEX) FROM information_schema.STATISTICS "
          + "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'agg_mix'"),
          equalTo("agg_mix_code_key:0:code:A,agg_mix_d_i:1:d:D,agg_mix_d_i:1:i:A,agg_mix_partial:1:i:A,PRIMARY:0:id:A"));
      assertThat(Db.queryString(tgt, "SELECT CONCAT(ENGINE, ' ', TABLE_COLLATION, ' ', TABLE_COMMENT) FROM "
          + "information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'agg_mix'"),
          equalTo("InnoDB utf8mb4_nopad_bin mixed types: ação"));
      assertThat(Db.queryString(tgt, "SELECT GROUP_CONCAT(CONCAT(COLUMN_NAME, '=', COALESCE(COLUMN_DEFAULT, '-'), "
          + "'/', IS_NULLABLE, '/', COLUMN_COMMENT) ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS "
          + "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'agg_mix' AND COLUMN_NAME IN ('id', 'small', 'amount', 'name', 'flag')"),
          equalTo("id=-/NO/,small=7/NO/,amount=1.500/YES/,name='n/a'/YES/município,flag=1/YES/"));
    }
  }

  @Test
  public void theChecksumSeesOneUlpAndOneTrailingSpace() throws Exception {
    MariaDbTarget t = target();
    TableRef staging = MIX.withName("agg_mix");
    TableDefinition def = copy(t, staging);
    try (Connection src = source.connect(); Connection tgt = t.connect("test")) {
      TableChecksum before = t.sourceChecksum(src, MIX, def, null);
      Db.execute(tgt, "UPDATE agg_mix SET ratio = 0.10000000000000002 WHERE id = 1003");
      assertThat(t.checksum(tgt, staging, def, null), not(equalTo(before)));
      Db.execute(tgt, "UPDATE agg_mix SET ratio = 0.1 WHERE id = 1003");
      assertThat(t.checksum(tgt, staging, def, null), equalTo(before));
      Db.execute(tgt, "UPDATE agg_mix SET name = CONCAT(name, ' ') WHERE id = 1003");
      assertThat(t.checksum(tgt, staging, def, null), not(equalTo(before)));
    }
  }

  @Test
  public void anUnmappableTypeIsRefusedNamingTableAndColumn() throws Exception {
    try (Connection src = source.connect()) {
      Db.execute(src, "CREATE TABLE agg_odd (id int, amount numeric, span interval)");
      TableDefinition def = TableDefinition.read(src, TableRef.of("public", "agg_odd"));
      WarehouseException e = assertThrows(WarehouseException.class,
          () -> target().createTableSql(def, TableRef.of("public", "agg_odd")));
      assertThat(e.getMessage(), containsString("table agg_odd, column amount: type numeric has no faithful"));
    }
  }

  @Test
  public void partialUniqueAndExpressionIndexesAreNotedNotCreated() throws Exception {
    try (Connection src = source.connect()) {
      TableDefinition def = TableDefinition.read(src, MIX);
      assertThat(MariaDbTable.of(def).notes(), hasItem("index agg_mix_lower left out (an index on an expression)"));
      assertThat(MariaDbTable.of(def).notes(), hasItem("index agg_mix_partial is partial on the source: a full index on the target"));
      assertThat(target().createTableSql(def, MIX).get(0), containsString(
          "\n-- index agg_mix_lower left out (an index on an expression)"));
    }
  }
}
