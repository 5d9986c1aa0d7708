package org.warehouse.transforms.births;

/**
 * An open-addressing hash map from packed {@code long} keys to {@link Measures} arrays. Our keys
 * pack two ints into one long, which {@code Long.hashCode} (hi ^ lo) collides on massively — with
 * java.util.HashMap that made most of the aggregate's CPU time tree-bin lookups. Fibonacci hashing
 * spreads them; no boxing either.
 */
final class LongMeasuresMap {
  private long[] keys;
  private long[][] values;
  private int size;
  private int shift;

  LongMeasuresMap() {
    this(1 << 12);
  }

  LongMeasuresMap(int initialCapacity) {
    int cap = Integer.highestOneBit(Math.max(16, initialCapacity) - 1) << 1;
    keys = new long[cap];
    values = new long[cap][];
    shift = 64 - Integer.numberOfTrailingZeros(cap);
  }

  int size() {
    return size;
  }

  /** The measures for {@code key}, created (all zero) when absent. */
  long[] getOrCreate(long key) {
    int mask = keys.length - 1;
    int i = (int) ((key * 0x9E3779B97F4A7C15L) >>> shift);
    while (true) {
      long[] v = values[i];
      if (v == null) {
        v = Measures.empty();
        keys[i] = key;
        values[i] = v;
        if (++size * 2 > keys.length) {
          grow();
        }
        return v;
      }
      if (keys[i] == key) {
        return v;
      }
      i = (i + 1) & mask;
    }
  }

  /** {@code this[key] += m}. */
  void merge(long key, long[] m) {
    Measures.merge(getOrCreate(key), m);
  }

  /** Calls {@code visitor} for every entry (order unspecified). */
  void forEach(Visitor visitor) {
    for (int i = 0; i < keys.length; i++) {
      if (values[i] != null) {
        visitor.visit(keys[i], values[i]);
      }
    }
  }

  /** Receives one entry. */
  interface Visitor {
    void visit(long key, long[] measures);
  }

  private void grow() {
    long[] oldKeys = keys;
    long[][] oldValues = values;
    keys = new long[oldKeys.length * 2];
    values = new long[oldKeys.length * 2][];
    shift--;
    int mask = keys.length - 1;
    for (int j = 0; j < oldKeys.length; j++) {
      if (oldValues[j] != null) {
        int i = (int) ((oldKeys[j] * 0x9E3779B97F4A7C15L) >>> shift);
        while (values[i] != null) {
          i = (i + 1) & mask;
        }
        keys[i] = oldKeys[j];
        values[i] = oldValues[j];
      }
    }
  }
}
