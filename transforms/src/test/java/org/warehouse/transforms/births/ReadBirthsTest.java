package org.warehouse.transforms.births;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.apache.beam.sdk.values.KV;
import org.junit.Test;
import org.warehouse.transforms.jdbc.TableRef;

/** The birth_id ranges the readers split the fact table into. */
public class ReadBirthsTest {
  /** Contiguous [from, to) ranges from lower to upper + 1, at most {@code partitions}, none empty. */
  private static void assertCovers(long lower, long upper, int partitions) {
    List<KV<Long, Long>> ranges = ReadBirths.ranges(lower, upper, partitions);
    assertTrue(ranges.size() + " ranges for " + partitions, ranges.size() <= partitions && !ranges.isEmpty());
    long next = lower;
    for (KV<Long, Long> r : ranges) {
      assertEquals("contiguous", next, (long) r.getKey());
      assertTrue("not empty", r.getValue() > r.getKey());
      next = r.getValue();
    }
    assertEquals("ends after upper", upper + 1, next);
  }

  @Test
  public void rangesCoverEveryIdOnceWhateverTheSplit() {
    assertCovers(1, 3000, 4);
    assertCovers(1, 3001, 4);
    assertCovers(7, 7, 8);
    assertCovers(1, 5, 8);
    assertCovers(-20, 20, 3);
    assertCovers(1, 5_000_000, 8);
    assertCovers(1_000_000_001L, 4_000_125_000L, 16);
    assertEquals(List.of(KV.of(1L, 4L), KV.of(4L, 7L), KV.of(7L, 10L), KV.of(10L, 11L)), ReadBirths.ranges(1, 10, 4));
  }

  @Test
  public void aTableWithoutTheCategoryColumnsIsReadWithThemNull() {
    TableRef fact = TableRef.of("mart", "fact_births");
    assertEquals("SELECT birth_id, birth_date, residence_municipality_code, cnes_code, sex, birth_weight_g, "
        + "gestational_weeks, mother_age, delivery_type, prenatal_visits, NULL::smallint AS gestation_category, "
        + "NULL::smallint AS prenatal_category FROM \"mart\".\"fact_births\" WHERE birth_id >= ? AND birth_id < ?",
        ReadBirths.query(fact, false));
    assertTrue(ReadBirths.query(fact, true).contains("prenatal_visits, gestation_category, prenatal_category FROM"));
  }

  @Test
  public void refusesNoPartitionsAndAnEmptyRange() {
    assertThrows(IllegalArgumentException.class, () -> ReadBirths.ranges(1, 10, 0));
    assertThrows(IllegalArgumentException.class, () -> ReadBirths.ranges(10, 1, 4));
  }
}
