package org.warehouse.transforms.births;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

import java.math.BigDecimal;
import org.apache.beam.sdk.testing.CoderProperties;
import org.junit.Test;

public class CodersAndKeysTest {
  @Test
  public void birthRecordCoderRoundTripsNullsAndNegativeDays() throws Exception {
    CoderProperties.coderDecodeEncodeEqual(BirthRecord.RecordCoder.of(),
        new BirthRecord(-365, 355030, BirthRecord.NULL, 1, 3000, BirthRecord.NULL, 19, 2, 0,
            BirthRecord.NULL, BirthRecord.NULL));
    CoderProperties.coderDecodeEncodeEqual(BirthRecord.RecordCoder.of(),
        new BirthRecord(19000, BirthRecord.NULL, BirthRecord.NULL, BirthRecord.NULL, BirthRecord.NULL,
            BirthRecord.NULL, BirthRecord.NULL, BirthRecord.NULL, BirthRecord.NULL, BirthRecord.NULL,
            BirthRecord.NULL));
    CoderProperties.coderDecodeEncodeEqual(BirthRecord.RecordCoder.of(),
        new BirthRecord(0, 355030, 2000001, 2, 3000, BirthRecord.NULL, 19, 2, BirthRecord.NULL, 4, 1));
    CoderProperties.coderDecodeEncodeEqual(BirthRecord.RecordCoder.of(),
        new BirthRecord(1, 355030, 2000001, 2, 3000, 36, 19, 2, 7, BirthRecord.NULL, 4));
  }

  @Test
  public void recordsDifferingOnlyInACategoryAreNotEqual() {
    BirthRecord a = new BirthRecord(1, 355030, 2000001, 2, 3000, BirthRecord.NULL, 19, 2, 7, 4, BirthRecord.NULL);
    BirthRecord b = new BirthRecord(1, 355030, 2000001, 2, 3000, BirthRecord.NULL, 19, 2, 7, 5, BirthRecord.NULL);
    BirthRecord c = new BirthRecord(1, 355030, 2000001, 2, 3000, BirthRecord.NULL, 19, 2, 7, 4, 4);
    assertNotEquals(a, b);
    assertNotEquals(a, c);
    assertEquals(a, new BirthRecord(1, 355030, 2000001, 2, 3000, BirthRecord.NULL, 19, 2, 7, 4, BirthRecord.NULL));
  }

  @Test
  public void packedKeysRoundTripEveryGrain() {
    long k = AggTable.MUNICIPALITY_MONTHLY.key(5300108, AggTable.monthTime(2024, 12));
    assertEquals(AggTable.MUNICIPALITY_MONTHLY, AggTable.tableOf(k));
    assertEquals(5300108, AggTable.geoOf(k));
    assertEquals(2024, AggTable.yearOfMonthTime(AggTable.timeOf(k)));
    assertEquals(12, AggTable.monthOfMonthTime(AggTable.timeOf(k)));
    long d = AggTable.STATE_DAILY.key(53, AggTable.dayTime(-20000));
    assertEquals(-20000, AggTable.epochDayOfDayTime(AggTable.timeOf(d)));
    long u = AggTable.UNMATCHED_MUNICIPALITY.key(-5, 2020);
    assertEquals(-5, AggTable.geoOf(u));
    assertEquals(AggTable.UNMATCHED_MUNICIPALITY, AggTable.tableOf(u));
  }

  @Test
  public void averageRoundsHalfAwayFromZeroLikePostgres() {
    long[] m = Measures.empty();
    m[Measures.WEIGHT_SUM] = 2499 + 2500;
    m[Measures.WEIGHT_COUNT] = 2;
    assertEquals(new BigDecimal("2499.5"), Measures.averageWeight(m));
    m[Measures.WEIGHT_SUM] = 1000 + 1000 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001 + 1001;
    m[Measures.WEIGHT_COUNT] = 20; // 20018 / 20 = 1000.90 → 1000.9
    assertEquals(new BigDecimal("1000.9"), Measures.averageWeight(m));
    m[Measures.WEIGHT_SUM] = 2001;
    m[Measures.WEIGHT_COUNT] = 4; // 500.25 → 500.3
    assertEquals(new BigDecimal("500.3"), Measures.averageWeight(m));
  }
}
