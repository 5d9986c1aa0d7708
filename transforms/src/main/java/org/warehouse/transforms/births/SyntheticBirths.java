package org.warehouse.transforms.births;

import java.io.Serializable;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * A deterministic SINASC-like birth generator: the same seed and municipality list give the same
 * rows, whatever runner or parallelism generates them (rows are generated in fixed chunks, each
 * from its own seeded random stream).
 *
 * <p>Profile: dates uniform over 2015-01-01..2024-12-31 (Feb 29s included); residence municipality
 * skewed like real populations (Zipf-like weights over a seeded ranking of the real municipalities);
 * ~0.2% residence codes no municipality has (half {@code xx0000}, "state known, municipality
 * ignored", half unused codes of a real state); CNES facility code ~3% NULL; sex 1/2 with 0.1%
 * unknown; birth weight ~8.5% under 2500 g, 0.5% NULL; gestational weeks ~11% under 37, 2% NULL;
 * mother's age ~14% under 20, 0.3% NULL; delivery cesarean ~57%, 0.2% unknown (9); prenatal visits
 * 0..15, 1% NULL.
 */
public final class SyntheticBirths implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final LocalDate FIRST_DAY = LocalDate.of(2015, 1, 1);
  public static final LocalDate LAST_DAY = LocalDate.of(2024, 12, 31);

  /** One generated birth; int fields hold {@link BirthRecord#NULL} for SQL NULL. Reused per row. */
  public static final class Row {
    public long birthId;
    public int epochDay;
    public int municipalityCode6;
    public int cnesCode;
    public int sex;
    public int birthWeightG;
    public int gestationalWeeks;
    public int motherAge;
    public int deliveryType;
    public int prenatalVisits;
    /** DATASUS GESTACAO 1..6, or NULL: see {@link SyntheticBirths#next}. */
    public int gestationCategory;
    /** DATASUS CONSULTAS 1..4, or NULL. */
    public int prenatalCategory;
  }

  private final int[] code6s;
  private final double[] cumulative;
  private final int[] unknownCodes;
  private final long seed;
  private final int firstDay;
  private final int days;

  /** @param municipalityCode6s the real 6-digit codes (any order: they are sorted here) */
  public SyntheticBirths(int[] municipalityCode6s, long seed) {
    this.seed = seed;
    this.code6s = municipalityCode6s.clone();
    Arrays.sort(code6s);
    // Seeded ranking → Zipf-like weights (a few big cities, a long tail of small towns).
    int n = code6s.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      Integer t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    double[] w = new double[n];
    for (int rank = 0; rank < n; rank++) {
      w[order[rank]] = 1.0 / Math.pow(rank + 1, 0.95);
    }
    cumulative = new double[n];
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += w[i];
      cumulative[i] = sum;
    }
    for (int i = 0; i < n; i++) {
      cumulative[i] /= sum;
    }
    Set<Integer> known = new HashSet<>();
    Set<Integer> states = new java.util.TreeSet<>();
    for (int c : code6s) {
      known.add(c);
      states.add(c / 10_000);
    }
    List<Integer> unknown = new ArrayList<>();
    for (int st : states) {
      unknown.add(st * 10_000); // xx0000: state known, municipality ignored
      for (int suffix = 9999; suffix > 9000; suffix--) {
        if (!known.contains(st * 10_000 + suffix)) {
          unknown.add(st * 10_000 + suffix); // a code of a real state that no municipality has
          break;
        }
      }
    }
    unknownCodes = unknown.stream().mapToInt(Integer::intValue).toArray();
    firstDay = (int) FIRST_DAY.toEpochDay();
    days = (int) (LAST_DAY.toEpochDay() - FIRST_DAY.toEpochDay() + 1);
  }

  /** Rows per chunk: chunk {@code c} holds birth_id {@code c*CHUNK+1 .. (c+1)*CHUNK}. */
  public static final int CHUNK = 250_000;

  public static int chunks(long births) {
    return (int) ((births + CHUNK - 1) / CHUNK);
  }

  /** Generates chunk {@code chunk} of a run of {@code births} rows into {@code sink}. */
  public void generateChunk(int chunk, long births, java.util.function.Consumer<Row> sink) {
    long first = (long) chunk * CHUNK + 1;
    long last = Math.min(births, (long) (chunk + 1) * CHUNK);
    SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + chunk);
    Row row = new Row();
    for (long id = first; id <= last; id++) {
      next(r, id, row);
      sink.accept(row);
    }
  }

  private void next(SplittableRandom r, long id, Row row) {
    row.birthId = id;
    row.epochDay = firstDay + r.nextInt(days);
    int mi = municipalityIndex(r.nextDouble());
    row.municipalityCode6 = r.nextInt(1000) < 2 ? unknownCodes[r.nextInt(unknownCodes.length)] : code6s[mi];
    row.cnesCode = r.nextInt(100) < 3 ? BirthRecord.NULL : 2_000_000 + mi * 4 + r.nextInt(4);
    int s = r.nextInt(1000);
    row.sex = s < 1 ? 0 : s < 512 ? 1 : 2;
    row.birthWeightG = r.nextInt(1000) < 5
        ? BirthRecord.NULL
        : (int) Math.max(300, Math.min(6000, Math.round(3250 + 550 * gaussian(r))));
    row.gestationalWeeks = r.nextInt(100) < 2 ? BirthRecord.NULL
        : r.nextInt(1000) < 110 ? 22 + r.nextInt(15) : 37 + r.nextInt(6);
    row.motherAge = r.nextInt(1000) < 3 ? BirthRecord.NULL
        : r.nextInt(100) < 14 ? 12 + r.nextInt(8) : 20 + r.nextInt(26);
    int d = r.nextInt(1000);
    row.deliveryType = d < 2 ? 9 : d < 572 ? 2 : 1;
    row.prenatalVisits = r.nextInt(100) < 1 ? BirthRecord.NULL
        : r.nextInt(100) < 75 ? 7 + r.nextInt(9) : r.nextInt(7);
    categories(row, mix(seed ^ id));
  }

  /**
   * The categorical fields of older DATASUS layouts, drawn from a hash of the row (the stream {@code
   * r} is left as it was, so every other column is what it always was for a seed): ~3% of the rows
   * carry only GESTACAO (weeks NULL), ~3% both; the same, independently, for CONSULTAS and the visits.
   */
  private static void categories(Row row, long h) {
    int g = (int) Long.remainderUnsigned(h, 100);
    row.gestationCategory = g < 6 ? gestationCategory(row.gestationalWeeks) : BirthRecord.NULL;
    if (g < 3) {
      row.gestationalWeeks = BirthRecord.NULL;
    }
    int p = (int) Long.remainderUnsigned(h >>> 32, 100);
    row.prenatalCategory = p < 6 ? prenatalCategory(row.prenatalVisits) : BirthRecord.NULL;
    if (p < 3) {
      row.prenatalVisits = BirthRecord.NULL;
    }
  }

  /** GESTACAO: 1 under 22 weeks, 2 22–27, 3 28–31, 4 32–36, 5 37–41, 6 42 or more. */
  static int gestationCategory(int weeks) {
    if (weeks == BirthRecord.NULL) {
      return BirthRecord.NULL;
    }
    return weeks < 22 ? 1 : weeks < 28 ? 2 : weeks < 32 ? 3 : weeks < 37 ? 4 : weeks < 42 ? 5 : 6;
  }

  /** CONSULTAS: 1 none, 2 1–3 visits, 3 4–6, 4 7 or more. */
  static int prenatalCategory(int visits) {
    if (visits == BirthRecord.NULL) {
      return BirthRecord.NULL;
    }
    return visits == 0 ? 1 : visits < 4 ? 2 : visits < 7 ? 3 : 4;
  }

  /** SplitMix64's finaliser: a well-spread hash of a long. */
  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  private int municipalityIndex(double u) {
    int i = Arrays.binarySearch(cumulative, u);
    i = i < 0 ? -i - 1 : i;
    return Math.min(i, code6s.length - 1);
  }

  /** A standard normal from the given stream (Box–Muller), so results do not depend on JDK internals. */
  private static double gaussian(SplittableRandom r) {
    double u1 = 1.0 - r.nextDouble();
    double u2 = r.nextDouble();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }
}
