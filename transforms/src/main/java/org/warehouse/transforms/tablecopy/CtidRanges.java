package org.warehouse.transforms.tablecopy;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a table's heap pages into ctid ranges of about {@code rowsPerRange} rows each, for parallel
 * reads or copies: never more ranges than pages, every page covered exactly once, the last range
 * open-ended (rows written beyond the pages known at planning time are still read).
 */
public final class CtidRanges {
  private CtidRanges() {}

  /** Pages {@code [fromPage, toPage)}; {@code toPage == TableRange.ALL_PAGES} for the open last range. */
  public record PageRange(long fromPage, long toPage) {
    public boolean open() {
      return toPage == TableRange.ALL_PAGES;
    }

    /** The ctid predicate selecting this range's rows. */
    public String where() {
      return "ctid >= '(" + fromPage + ",0)'::tid AND ctid < '(" + toPage + ",0)'::tid";
    }
  }

  /**
   * Ranges of about {@code rowsPerRange} rows, given the table's {@code pages} and its estimated row
   * count (0 or less when unknown: one range per {@code rowsPerRange}/100 pages, assuming 100 rows a page).
   */
  public static List<PageRange> pages(long pages, long estimatedRows, long rowsPerRange) {
    if (rowsPerRange < 1) {
      throw new IllegalArgumentException("rowsPerRange must be at least 1 (got " + rowsPerRange + ")");
    }
    long p = Math.max(1, pages);
    long rows = estimatedRows > 0 ? estimatedRows : p * 100;
    long n = Math.min(p, Math.max(1, (rows + rowsPerRange - 1) / rowsPerRange));
    long per = (p + n - 1) / n;
    List<PageRange> out = new ArrayList<>();
    long from = 0;
    while (from + per < p) {
      out.add(new PageRange(from, from + per));
      from += per;
    }
    out.add(new PageRange(from, TableRange.ALL_PAGES));
    return out;
  }

  /** {@link #pages} as copy work: each range of {@code quotedSource} into {@code destination}. */
  public static List<TableRange> split(String destination, String columns, String quotedSource, long pages,
      long estimatedRows, long rowsPerRange) {
    List<TableRange> out = new ArrayList<>();
    for (PageRange r : pages(pages, estimatedRows, rowsPerRange)) {
      out.add(new TableRange(destination, columns, quotedSource, r.fromPage(), r.toPage()));
    }
    return out;
  }
}
