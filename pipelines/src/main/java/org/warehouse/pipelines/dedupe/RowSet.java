package org.warehouse.pipelines.dedupe;

import java.math.BigDecimal;

/**
 * Row count and order-independent checksum ({@link DedupeSql#checksumExpr}) of a set of rows: the
 * backup copy, the rows inserted during the run, the pre-run rows a rollback must give back.
 */
record RowSet(long rows, BigDecimal checksum) {
  static final RowSet EMPTY = new RowSet(0, BigDecimal.ZERO);

  RowSet plus(RowSet other) {
    return new RowSet(rows + other.rows, checksum.add(other.checksum));
  }

  boolean sameAs(RowSet other) {
    return rows == other.rows && checksum.compareTo(other.checksum) == 0;
  }
}
