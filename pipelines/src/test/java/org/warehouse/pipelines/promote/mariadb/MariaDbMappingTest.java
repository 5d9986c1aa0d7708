package org.warehouse.pipelines.promote.mariadb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.instanceOf;
import static org.hamcrest.Matchers.nullValue;
import static org.junit.Assert.assertThrows;

import java.util.List;
import org.junit.Test;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.promote.targetdb.Targets;
import org.warehouse.transforms.jdbc.TableDefinition.KeyDef;
import org.warehouse.transforms.jdbc.WarehouseException;

/** The MariaDB target's pure parts, without a database: types, keys, defaults, quoting, the URL scheme. */
public class MariaDbMappingTest {
  private static String type(String pg, boolean inKey) {
    MariaDbColumn c = MariaDbTypes.mapOrNull("c", pg, inKey);
    return c == null ? null : c.targetType();
  }

  @Test
  public void typesMapOrAreRefused() {
    assertThat(type("smallint", false), equalTo("SMALLINT"));
    assertThat(type("integer", false), equalTo("INT"));
    assertThat(type("bigint", false), equalTo("BIGINT"));
    assertThat(type("numeric(6,1)", false), equalTo("DECIMAL(6,1)"));
    assertThat(type("numeric(65,38)", false), equalTo("DECIMAL(65,38)"));
    assertThat(type("numeric(66,2)", false), nullValue());
    assertThat(type("numeric(10,-2)", false), nullValue());
    assertThat(type("numeric", false), nullValue());
    assertThat(type("real", false), equalTo("FLOAT"));
    assertThat(type("double precision", false), equalTo("DOUBLE"));
    assertThat(type("text", false), equalTo("LONGTEXT"));
    assertThat(type("text", true), equalTo("VARCHAR(255)"));
    assertThat(type("character varying(40)", true), equalTo("VARCHAR(40)"));
    assertThat(type("character varying(5000)", false), equalTo("LONGTEXT"));
    assertThat(type("character varying(5000)", true), nullValue());
    assertThat(type("character(2)", false), equalTo("CHAR(2)"));
    assertThat(type("date", false), equalTo("DATE"));
    assertThat(type("timestamp without time zone", false), equalTo("DATETIME(6)"));
    assertThat(type("timestamp(3) with time zone", false), equalTo("DATETIME(3)"));
    assertThat(type("boolean", false), equalTo("BOOLEAN"));
    assertThat(type("jsonb", true), nullValue());
    for (String refused : List.of("bytea", "interval", "integer[]", "time without time zone", "money", "point")) {
      assertThat(refused, type(refused, false), nullValue());
    }
    WarehouseException e = assertThrows(WarehouseException.class, () -> MariaDbTypes.map("agg_x", "span", "interval", false));
    assertThat(e.getMessage(), containsString("table agg_x, column span: type interval has no faithful MariaDB/MySQL type"));
    assertThat(MariaDbTable.normalizeType("int(11)"), equalTo("int"));
    assertThat(MariaDbTable.normalizeType("BOOLEAN"), equalTo("tinyint(1)"));
    assertThat(MariaDbTable.normalizeType("bigint(20) unsigned"), equalTo("bigint unsigned"));
  }

  @Test
  public void keysAreParsedFromPostgresDefinitions() {
    PgKeys.Result r = PgKeys.of(List.of(
        new KeyDef("t_pkey", "PRIMARY KEY", "PRIMARY KEY (a, \"Odd \"\"Name\")"),
        new KeyDef("t_u", "UNIQUE", "UNIQUE NULLS NOT DISTINCT (b) INCLUDE (c)"),
        new KeyDef("t_i", "INDEX", "USING btree (c DESC NULLS LAST, d text_pattern_ops)"),
        new KeyDef("t_p", "INDEX", "USING btree (e) WHERE (e > 0)"),
        new KeyDef("t_pu", "UNIQUE INDEX", "USING btree (e) WHERE (e > 0)"),
        new KeyDef("t_x", "INDEX", "USING btree (lower(f))"),
        new KeyDef("t_g", "INDEX", "USING gin (g)"),
        new KeyDef("t_ex", "EXCLUDE", "EXCLUDE USING gist (r WITH &&)"),
        new KeyDef("t_month_check", "CHECK", "CHECK (((month >= 1) AND (month <= 12)))")));
    List<String> clauses = r.keys().stream().map(MariaDbKey::clause).toList();
    assertThat(clauses, equalTo(List.of("PRIMARY KEY (`a`, `Odd \"Name`)", "UNIQUE KEY `t_u` (`b`)",
        "KEY `t_i` (`c` DESC, `d`)", "KEY `t_p` (`e`)")));
    assertThat(r.notes(), equalTo(List.of("index t_p is partial on the source: a full index on the target",
        "index t_pu left out (a partial unique index)", "index t_x left out (an index on an expression)",
        "index t_g left out (a gin index)", "constraint t_ex left out (exclude)",
        "constraint t_month_check left out (check)")));
  }

  @Test
  public void constantDefaultsArePortableExpressionsAreNot() {
    MariaDbColumn i = new MariaDbColumn("i", "integer", MariaDbColumn.Kind.INTEGER, "INT");
    MariaDbColumn t = new MariaDbColumn("t", "text", MariaDbColumn.Kind.TEXT, "LONGTEXT");
    MariaDbColumn b = new MariaDbColumn("b", "boolean", MariaDbColumn.Kind.BOOLEAN, "BOOLEAN");
    assertThat(MariaDbTable.portableDefault("42", i), equalTo("42"));
    assertThat(MariaDbTable.portableDefault("(-1)", i), equalTo("-1"));
    assertThat(MariaDbTable.portableDefault("'it''s \\ ok'::text", t), equalTo("'it''s \\\\ ok'"));
    assertThat(MariaDbTable.portableDefault("true", b), equalTo("1"));
    assertThat(MariaDbTable.portableDefault("now()", t), nullValue());
    assertThat(MariaDbTable.portableDefault("nextval('s'::regclass)", i), nullValue());
  }

  @Test
  public void identifiersAndLockNamesAreSafe() {
    assertThat(MariaDbSql.quote("a`b"), equalTo("`a``b`"));
    assertThat(MariaDbSql.literal("it's"), equalTo("'it''s'"));
    assertThat(MariaDbRunLock.lockName("promote", "warehouse"), equalTo("warehouse-pipelines:promote:warehouse"));
    String longName = MariaDbRunLock.lockName("promote", "d".repeat(64));
    assertThat(longName.length(), equalTo(64));
    assertThat(MariaDbRunLock.lockName("promote", "d".repeat(64)), equalTo(longName));
  }

  @Test
  public void theUrlSchemeChoosesTheTarget() {
    assertThat(Targets.open("jdbc:mariadb://127.0.0.1:1/db", "u", null, "promote"), instanceOf(MariaDbTarget.class));
    assertThat(Targets.open("jdbc:mysql://127.0.0.1:1/db", "u", null, "promote"), instanceOf(MariaDbTarget.class));
    assertThat(new MariaDbConfig("jdbc:mysql://h:3306/db", "u", null).driverUrl(), equalTo("jdbc:mariadb://h:3306/db"));
    UsageException e = assertThrows(UsageException.class,
        () -> Targets.open("jdbc:mariadb://127.0.0.1:1/db?password=secret", "u", null, "promote"));
    assertThat(e.getMessage(), containsString("--targetUrl must not contain a password"));
    assertThat(e.getMessage().contains("secret"), equalTo(false));
  }
}
