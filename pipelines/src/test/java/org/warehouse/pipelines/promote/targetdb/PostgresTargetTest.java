package org.warehouse.pipelines.promote.targetdb;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.equalTo;

import java.util.Arrays;
import java.util.List;
import org.junit.Test;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.transforms.jdbc.TableRef;

/** The PostgreSQL target's pure parts: checksum slices, staging names, the choice by URL scheme. */
public class PostgresTargetTest {
  @Test
  public void smallTablesAreOneSliceBigOnesCtidRangesOfAboutFifteenHundredPages() {
    assertThat(PostgresTarget.ctidSlices(0), equalTo(Arrays.asList((String) null)));
    assertThat(PostgresTarget.ctidSlices(1500), equalTo(Arrays.asList((String) null)));
    assertThat(PostgresTarget.ctidSlices(3001), contains(
        "ctid >= '(0,0)'::tid AND ctid < '(1001,0)'::tid",
        "ctid >= '(1001,0)'::tid AND ctid < '(2002,0)'::tid",
        "ctid >= '(2002,0)'::tid AND ctid < '(4294967295,0)'::tid"));
  }

  @Test
  public void stagingNamesArePerRunAndLeftoversMatchThem() {
    PostgresTarget t = new PostgresTarget(null, "promote");
    TableRef target = TableRef.of("public", "agg_yearly");
    assertThat(t.stagingName(target, "ab12cd").name(), equalTo("agg_yearly__staging_ab12cd"));
    assertThat(t.stagingName(target, "zz99zz").equals(t.stagingName(target, "ab12cd")), equalTo(false));
  }

  @Test
  public void theSchemeChoosesTheTarget() {
    UsageException e = org.junit.Assert.assertThrows(UsageException.class,
        () -> Targets.open("jdbc:oracle:thin:@h:1521/x", null, null, "promote"));
    assertThat(e.getMessage().startsWith("--targetUrl must start with jdbc:postgresql:"), equalTo(true));
    List<String> products = List.of(Targets.open("jdbc:postgresql://h/db", "u", null, "promote").product());
    assertThat(products, contains("PostgreSQL"));
  }
}
