package org.warehouse.transforms.jdbc;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import org.junit.Test;

public class SqlHelpersTest {
  @Test
  public void quotesIdentifiersAndRejectsInjection() {
    assertEquals("\"public\".\"agg_yearly\"", TableRef.parse("agg_yearly", "public").quoted());
    assertEquals("\"breezeway\".\"property_photos\"", TableRef.parse("breezeway.property_photos", "public").quoted());
    assertEquals("\"a\"\"b\"", Sql.quoteIdent("a\"b"));
    assertThrows(IllegalArgumentException.class, () -> TableRef.parse("x; DROP TABLE y", "public"));
    assertThrows(IllegalArgumentException.class, () -> TableRef.parse("a.b.c", "public"));
    assertThrows(IllegalArgumentException.class, () -> Sql.requireIdent("column", "1abc"));
  }

  @Test
  public void copyTextEscapesSpecialCharactersAndNulls() {
    assertEquals("a\\\\b\\tc\\nd\t\\N\t42", new CopyText().add("a\\b\tc\nd").add((String) null).add(42).line());
  }

  @Test
  public void jdbcUrlWithPasswordIsRefusedAndToStringHidesSecrets() {
    assertThrows(IllegalArgumentException.class,
        () -> JdbcConfig.fromOptions("jdbc:postgresql://h/db?password=x", "u", null));
    JdbcConfig c = JdbcConfig.of("jdbc:postgresql://h:5432/db", "u", "s3cret");
    assertEquals(false, c.toString().contains("s3cret"));
    assertEquals(false, new PgDataSourceProvider(c, "x").toString().contains("s3cret"));
    assertEquals("jdbc:postgresql://h:5432/other", c.withDatabase("other").url());
  }
}
