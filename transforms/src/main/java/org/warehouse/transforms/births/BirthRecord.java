package org.warehouse.transforms.births;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.VarIntCoder;

/**
 * One fact_births row as the aggregate needs it. Nullable columns hold {@link #NULL}. A compact
 * value type with its own coder: millions of these cross the read → aggregate edge.
 */
public final class BirthRecord {
  /** Stands for SQL NULL in the int fields. */
  public static final int NULL = Integer.MIN_VALUE;

  public final int epochDay;
  public final int municipalityCode6;
  public final int cnesCode;
  public final int sex;
  public final int birthWeightG;
  public final int gestationalWeeks;
  public final int motherAge;
  public final int deliveryType;
  public final int prenatalVisits;
  /** DATASUS GESTACAO 1..6 (1: < 22 weeks … 4: 32–36, 5: 37–41, 6: 42+), or NULL. */
  public final int gestationCategory;
  /** DATASUS CONSULTAS 1..4 (1: none, 2: 1–3, 3: 4–6, 4: 7+ visits), or NULL. */
  public final int prenatalCategory;

  public BirthRecord(
      int epochDay,
      int municipalityCode6,
      int cnesCode,
      int sex,
      int birthWeightG,
      int gestationalWeeks,
      int motherAge,
      int deliveryType,
      int prenatalVisits,
      int gestationCategory,
      int prenatalCategory) {
    this.epochDay = epochDay;
    this.municipalityCode6 = municipalityCode6;
    this.cnesCode = cnesCode;
    this.sex = sex;
    this.birthWeightG = birthWeightG;
    this.gestationalWeeks = gestationalWeeks;
    this.motherAge = motherAge;
    this.deliveryType = deliveryType;
    this.prenatalVisits = prenatalVisits;
    this.gestationCategory = gestationCategory;
    this.prenatalCategory = prenatalCategory;
  }

  int field(int i) {
    switch (i) {
      case 0: return epochDay;
      case 1: return municipalityCode6;
      case 2: return cnesCode;
      case 3: return sex;
      case 4: return birthWeightG;
      case 5: return gestationalWeeks;
      case 6: return motherAge;
      case 7: return deliveryType;
      case 8: return prenatalVisits;
      case 9: return gestationCategory;
      default: return prenatalCategory;
    }
  }

  static final int FIELDS = 11;

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof BirthRecord)) {
      return false;
    }
    BirthRecord b = (BirthRecord) o;
    for (int i = 0; i < FIELDS; i++) {
      if (field(i) != b.field(i)) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    return Objects.hash(epochDay, municipalityCode6, cnesCode, sex, birthWeightG, gestationalWeeks,
        motherAge, deliveryType, prenatalVisits, gestationCategory, prenatalCategory);
  }

  @Override
  public String toString() {
    return "BirthRecord{day=" + epochDay + ", mun=" + municipalityCode6 + ", cnes=" + cnesCode
        + ", sex=" + sex + ", w=" + birthWeightG + ", weeks=" + gestationalWeeks + ", age=" + motherAge
        + ", delivery=" + deliveryType + ", prenatal=" + prenatalVisits + ", gestationCategory=" + gestationCategory
        + ", prenatalCategory=" + prenatalCategory + "}";
  }

  /** Null bitmap (VarInt) then each non-null field as VarInt (epochDay zig-zag encoded). */
  public static final class RecordCoder extends AtomicCoder<BirthRecord> {
    private static final long serialVersionUID = 1L;
    private static final RecordCoder INSTANCE = new RecordCoder();
    private static final Coder<Integer> INT = VarIntCoder.of();

    public static RecordCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(BirthRecord r, OutputStream out) throws IOException {
      int nulls = 0;
      for (int i = 0; i < FIELDS; i++) {
        if (r.field(i) == NULL) {
          nulls |= 1 << i;
        }
      }
      INT.encode(nulls, out);
      for (int i = 0; i < FIELDS; i++) {
        int v = r.field(i);
        if (v != NULL) {
          INT.encode(i == 0 ? (v << 1) ^ (v >> 31) : v, out);
        }
      }
    }

    @Override
    public BirthRecord decode(InputStream in) throws IOException {
      int nulls = INT.decode(in);
      int[] f = new int[FIELDS];
      for (int i = 0; i < FIELDS; i++) {
        if ((nulls & (1 << i)) != 0) {
          f[i] = NULL;
        } else {
          int v = INT.decode(in);
          f[i] = i == 0 ? (v >>> 1) ^ -(v & 1) : v;
        }
      }
      return new BirthRecord(f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10]);
    }

    @Override
    public void verifyDeterministic() {}

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}
