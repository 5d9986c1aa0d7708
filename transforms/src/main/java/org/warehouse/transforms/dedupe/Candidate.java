package org.warehouse.transforms.dedupe;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * One row's survivor-relevant fields: its id, its "latest" column (e.g. synced_at) in epoch
 * microseconds (or NULL), and how many rows it stands for (1 when read; the group size after
 * combining).
 *
 * <p>The survivor rule is exactly what {@code SELECT DISTINCT ON (key) ... ORDER BY key, latest
 * DESC, id DESC} keeps: the greatest {@code latest} wins — and, as PostgreSQL sorts NULLs first in
 * DESC order, a NULL {@code latest} counts as the greatest — ties go to the highest id.
 */
public final class Candidate {
  public final long id;
  public final long latestMicros;
  public final boolean latestNull;
  public final long count;

  public Candidate(long id, long latestMicros, boolean latestNull, long count) {
    this.id = id;
    this.latestMicros = latestNull ? 0 : latestMicros;
    this.latestNull = latestNull;
    this.count = count;
  }

  /** True when this row survives over {@code other} (the DISTINCT ON … DESC, id DESC order). */
  public boolean beats(Candidate other) {
    if (latestNull != other.latestNull) {
      return latestNull;
    }
    if (latestMicros != other.latestMicros) {
      return latestMicros > other.latestMicros;
    }
    return id > other.id;
  }

  /**
   * The survivor of two candidates of one natural key ({@link #beats}), standing for the rows of both:
   * their counts added. A total order on (latest, id) with unique ids, so any grouping or order of
   * combining gives the same survivor.
   */
  public static Candidate survivor(Candidate a, Candidate b) {
    return (a.beats(b) ? a : b).withCount(a.count + b.count);
  }

  public Candidate withCount(long newCount) {
    return new Candidate(id, latestMicros, latestNull, newCount);
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof Candidate)) {
      return false;
    }
    Candidate c = (Candidate) o;
    return c.id == id && c.latestMicros == latestMicros && c.latestNull == latestNull && c.count == count;
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, latestMicros, latestNull, count);
  }

  @Override
  public String toString() {
    return "Candidate{id=" + id + ", latest=" + (latestNull ? "NULL" : latestMicros) + ", count=" + count + "}";
  }

  /** Compact coder: three varlongs and a flag byte. */
  public static final class CandidateCoder extends AtomicCoder<Candidate> {
    private static final long serialVersionUID = 1L;
    private static final CandidateCoder INSTANCE = new CandidateCoder();
    private static final VarLongCoder LONG = VarLongCoder.of();

    public static CandidateCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(Candidate c, OutputStream out) throws IOException {
      LONG.encode(c.id, out);
      out.write(c.latestNull ? 1 : 0);
      LONG.encode(c.latestMicros, out);
      LONG.encode(c.count, out);
    }

    @Override
    public Candidate decode(InputStream in) throws IOException {
      long id = LONG.decode(in);
      int flag = in.read();
      if (flag < 0) {
        throw new IOException("truncated Candidate");
      }
      long micros = LONG.decode(in);
      long count = LONG.decode(in);
      return new Candidate(id, micros, flag == 1, count);
    }

    @Override
    public void verifyDeterministic() {}
  }
}
