package org.warehouse.transforms.childtables;

import java.io.Serializable;
import java.util.SplittableRandom;

/**
 * Deterministic rows for the breezeway child tables: the same seed and scale give the same rows
 * whatever runner or parallelism generates them (fixed chunks, each from its own seeded stream).
 *
 * <p>Row {@code i} (id {@code i+1}) of a table with {@code U} unique keys: rows {@code 0..U-1} carry
 * key {@code i} once each (so exactly U distinct keys exist), later rows a random key (the hourly
 * re-inserts). Key {@code k} = (parent {@code 1 + k % parents}, child id {@code 100000 + k}).
 * {@code synced_at} = 2024-01-01 UTC + a random whole hour in [0, 2000): duplicates often tie on
 * synced_at, which exercises the "highest id wins" tie-break. Payload carries the sync hour, so a
 * later sync has a different caption/status; ~1% of payload values are NULL.
 */
public final class SyntheticChildren implements Serializable {
  private static final long serialVersionUID = 1L;

  public static final int CHUNK_ROWS = 250_000;
  /** 2024-01-01T00:00:00Z in epoch seconds. */
  static final long BASE_EPOCH_SECOND = 1_704_067_200L;
  static final int HOURS = 2000;

  private final long seed;
  private final double scale;

  public SyntheticChildren(long seed, double scale) {
    this.seed = seed;
    this.scale = scale;
  }

  public static long parents(String parentTable, double scale) {
    long full = parentTable.equals("properties") ? 1_500 : parentTable.equals("tasks") ? 8_000 : 3_000;
    return Math.max(5, Math.round(full * Math.max(scale, 0.01)));
  }

  public int chunks(ChildTable t) {
    return (int) ((t.rows(scale) + CHUNK_ROWS - 1) / CHUNK_ROWS);
  }

  /** Appends chunk {@code chunk} of table {@code t} as COPY text lines. */
  public void generateChunk(ChildTable t, int chunk, StringBuilderSink out) {
    long rows = t.rows(scale);
    long unique = t.unique(scale);
    long parents = parents(t.parentTable(), scale);
    long from = (long) chunk * CHUNK_ROWS;
    long to = Math.min(rows, from + CHUNK_ROWS);
    SplittableRandom r = new SplittableRandom(seed * 1_000_003L + t.ordinal() * 7919L + chunk);
    StringBuilder sb = new StringBuilder(128);
    for (long i = from; i < to; i++) {
      long k = i < unique ? i : r.nextLong(unique);
      int hour = r.nextInt(HOURS);
      boolean nullChild = i >= unique && t.nullKeyEvery() > 0 && i % t.nullKeyEvery() == 7;
      sb.setLength(0);
      sb.append(i + 1).append('\t').append(1 + k % parents).append('\t');
      if (nullChild) {
        sb.append("\\N");
      } else {
        sb.append(100_000 + k);
      }
      sb.append('\t');
      if (r.nextInt(100) == 0) {
        sb.append("\\N");
      } else {
        sb.append(t.naturalKey().get(1)).append(' ').append(k).append(" v").append(hour);
      }
      sb.append('\t').append("https://example.invalid/").append(t.tableName()).append('/').append(k);
      sb.append('\t').append(hour % 10).append('\t');
      appendTimestamp(sb, BASE_EPOCH_SECOND + hour * 3600L);
      sb.append('\n');
      out.accept(sb);
    }
  }

  private static void appendTimestamp(StringBuilder sb, long epochSecond) {
    sb.append(java.time.Instant.ofEpochSecond(epochSecond).toString().replace('T', ' ').replace("Z", "+00"));
  }

  /** Receives each generated line (the builder is reused: copy what you keep). */
  @FunctionalInterface
  public interface StringBuilderSink {
    void accept(StringBuilder line);
  }
}
