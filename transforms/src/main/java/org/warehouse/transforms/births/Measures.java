package org.warehouse.transforms.births;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.math.RoundingMode;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * The measures of one aggregate row as a {@code long[]}: the nine counts of {@link
 * AggTable#COUNT_MEASURES}, then the sum and the count of non-null birth weights (for the average).
 */
public final class Measures {
  public static final int TOTAL = 0;
  public static final int MALE = 1;
  public static final int FEMALE = 2;
  public static final int VAGINAL = 3;
  public static final int CESAREAN = 4;
  public static final int LOW_WEIGHT = 5;
  public static final int PRETERM = 6;
  public static final int TEEN_MOTHER = 7;
  public static final int ADEQUATE_PRENATAL = 8;
  public static final int WEIGHT_SUM = 9;
  public static final int WEIGHT_COUNT = 10;
  public static final int SIZE = 11;

  /** Definitions (shared with the documentation and the SQL oracle in scripts/sql). */
  public static final int LOW_WEIGHT_BELOW_G = 2500;
  public static final int PRETERM_BELOW_WEEKS = 37;
  public static final int TEEN_BELOW_AGE = 20;
  public static final int ADEQUATE_PRENATAL_MIN_VISITS = 7;
  /** GESTACAO 1..4 (< 22, 22–27, 28–31, 32–36 weeks): preterm when the weeks are unknown. */
  public static final int PRETERM_MAX_GESTATION_CATEGORY = 4;
  /** CONSULTAS 4 (7 or more visits): adequate prenatal care when the visits are unknown. */
  public static final int ADEQUATE_PRENATAL_CATEGORY = 4;

  private Measures() {}

  public static long[] empty() {
    return new long[SIZE];
  }

  /** Adds one birth to {@code acc}. */
  public static void add(long[] acc, BirthRecord b) {
    acc[TOTAL]++;
    if (b.sex == 1) {
      acc[MALE]++;
    } else if (b.sex == 2) {
      acc[FEMALE]++;
    }
    if (b.deliveryType == 1) {
      acc[VAGINAL]++;
    } else if (b.deliveryType == 2) {
      acc[CESAREAN]++;
    }
    if (b.birthWeightG != BirthRecord.NULL) {
      if (b.birthWeightG < LOW_WEIGHT_BELOW_G) {
        acc[LOW_WEIGHT]++;
      }
      acc[WEIGHT_SUM] += b.birthWeightG;
      acc[WEIGHT_COUNT]++;
    }
    if (isPreterm(b)) {
      acc[PRETERM]++;
    }
    if (b.motherAge != BirthRecord.NULL && b.motherAge < TEEN_BELOW_AGE) {
      acc[TEEN_MOTHER]++;
    }
    if (hasAdequatePrenatal(b)) {
      acc[ADEQUATE_PRENATAL]++;
    }
  }

  /** Fewer than 37 gestational weeks when they are known, else GESTACAO 1–4; unknown counts as not preterm. */
  static boolean isPreterm(BirthRecord b) {
    if (b.gestationalWeeks != BirthRecord.NULL) {
      return b.gestationalWeeks < PRETERM_BELOW_WEEKS;
    }
    return b.gestationCategory >= 1 && b.gestationCategory <= PRETERM_MAX_GESTATION_CATEGORY;
  }

  /** 7 or more prenatal visits when they are known, else CONSULTAS 4; unknown counts as not adequate. */
  static boolean hasAdequatePrenatal(BirthRecord b) {
    if (b.prenatalVisits != BirthRecord.NULL) {
      return b.prenatalVisits >= ADEQUATE_PRENATAL_MIN_VISITS;
    }
    return b.prenatalCategory == ADEQUATE_PRENATAL_CATEGORY;
  }

  /** {@code into += from}, element by element. */
  public static void merge(long[] into, long[] from) {
    for (int i = 0; i < SIZE; i++) {
      into[i] += from[i];
    }
  }

  /** The average weight rounded to one decimal, half away from zero (as PostgreSQL's round). */
  public static BigDecimal averageWeight(long[] m) {
    if (m[WEIGHT_COUNT] == 0) {
      return null;
    }
    return BigDecimal.valueOf(m[WEIGHT_SUM]).divide(BigDecimal.valueOf(m[WEIGHT_COUNT]), 1, RoundingMode.HALF_UP);
  }

  /** Coder: SIZE VarLongs. */
  public static final class MeasuresCoder extends AtomicCoder<long[]> {
    private static final long serialVersionUID = 1L;
    private static final MeasuresCoder INSTANCE = new MeasuresCoder();
    private static final Coder<Long> LONG = VarLongCoder.of();

    public static MeasuresCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(long[] value, OutputStream out) throws IOException {
      for (int i = 0; i < SIZE; i++) {
        LONG.encode(value[i], out);
      }
    }

    @Override
    public long[] decode(InputStream in) throws IOException {
      long[] v = new long[SIZE];
      for (int i = 0; i < SIZE; i++) {
        v[i] = LONG.decode(in);
      }
      return v;
    }

    @Override
    public void verifyDeterministic() {}
  }
}
