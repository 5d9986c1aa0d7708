package org.warehouse.transforms.jdbc;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;
import static org.junit.Assert.assertThrows;

import java.sql.Connection;
import java.sql.SQLException;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.testing.TestDatabase;

/** {@link Db#inTransaction}: all of the work or none of it, as PostgreSQL sees it from another session. */
public class DbTransactionTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();

  @Test
  public void commitsWhenTheWorkReturnsAndRollsBackWhenItThrows() throws Exception {
    try (Connection c = DB.connect(); Connection other = DB.connect()) {
      Db.execute(c, "CREATE TABLE tx_test (n int)");
      int n = Db.inTransaction(c, () -> {
        Db.execute(c, "INSERT INTO tx_test VALUES (1), (2)");
        return 2;
      });
      assertThat(n, is(2));
      assertThat(c.getAutoCommit(), is(true));
      assertThat(Db.queryLong(other, "SELECT count(*) FROM tx_test"), is(2L));

      SQLException e = assertThrows(SQLException.class, () -> Db.inTransaction(c, () -> {
        Db.execute(c, "INSERT INTO tx_test VALUES (3)");
        Db.execute(c, "INSERT INTO tx_test VALUES ('not a number')");
        return null;
      }));
      assertThat(e.getSQLState(), is("22P02"));
      assertThat(c.getAutoCommit(), is(true));
      assertThat("the row inserted before the failure is gone", Db.queryLong(other, "SELECT count(*) FROM tx_test"), is(2L));

      assertThrows(IllegalStateException.class, () -> Db.inTransaction(c, () -> {
        Db.execute(c, "INSERT INTO tx_test VALUES (4)");
        throw new IllegalStateException("not SQL");
      }));
      assertThat(Db.queryLong(other, "SELECT count(*) FROM tx_test"), is(2L));
      Db.execute(c, "DROP TABLE tx_test");
    }
  }
}
