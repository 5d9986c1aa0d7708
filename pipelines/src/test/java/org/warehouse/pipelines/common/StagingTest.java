package org.warehouse.pipelines.common;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;

import java.nio.charset.StandardCharsets;
import org.junit.Test;
import org.warehouse.transforms.jdbc.JdbcUrls;
import org.warehouse.transforms.jdbc.TableRef;

public class StagingTest {
  @Test
  public void shortNamesAreTargetKindAndRunId() {
    TableRef t = Staging.name(TableRef.of("public", "agg_yearly"), "staging", "ab12cd");
    assertThat(t.schema(), equalTo("public"));
    assertThat(t.name(), equalTo("agg_yearly__staging_ab12cd"));
  }

  @Test
  public void longNamesStayWithinPostgresLimitAndKeepADeterministicPrefix() {
    String longName = "tabela_de_nascimentos_por_municipio_e_estabelecimento_diario";
    TableRef target = TableRef.of("s", longName);
    TableRef a = Staging.name(target, "staging", "aaaaaa");
    TableRef b = Staging.name(target, "staging", "bbbbbb");
    assertThat(a.name().getBytes(StandardCharsets.UTF_8).length, lessThanOrEqualTo(63));
    assertThat(a.name().substring(0, a.name().length() - 6), equalTo(b.name().substring(0, b.name().length() - 6)));
    assertThat(a.name(), startsWith("tabela_de_nascimentos"));
    // two long targets that share their first 40 characters do not share a prefix
    TableRef other = Staging.name(TableRef.of("s", longName.replace("diario", "mensal")), "staging", "aaaaaa");
    assertThat(other.name(), not(equalTo(a.name())));
  }

  @Test
  public void runIdsAreSixLowercaseAlphanumerics() {
    for (int i = 0; i < 100; i++) {
      assertThat(Staging.runId(), matchesPattern("[a-z0-9]{6}"));
    }
  }

  @Test
  public void passwordsAreRedactedAndFound() {
    assertThat(JdbcUrls.redact("jdbc:postgresql://h/db?user=u&password=s3cr3t&ssl=true"),
        equalTo("jdbc:postgresql://h/db?user=u&password=***&ssl=true"));
    assertThat(JdbcUrls.redact("cannot connect to jdbc:postgresql://bob:s3cr3t@h:5432/db as user"),
        equalTo("cannot connect to jdbc:postgresql://bob:***@h:5432/db as user"));
    assertThat(JdbcUrls.redact("jdbc:postgresql://h:5432/db"), equalTo("jdbc:postgresql://h:5432/db"));
    assertThat(JdbcUrls.secretIn("jdbc:postgresql://bob:pw@h/db"), equalTo("a user:password@ part"));
    assertThat(JdbcUrls.secretIn("jdbc:postgresql://h/db?PASSWORD=x"), equalTo("a password= parameter"));
    assertThat(JdbcUrls.secretIn("jdbc:postgresql://h:5432/db"), equalTo(null));
  }

  @Test(expected = UsageException.class)
  public void countsBelowTheMinimumAreUsageErrors() {
    Validate.atLeast("rowsPerRange", 0, 1);
  }
}
