package org.warehouse.transforms.tablecopy;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.lessThanOrEqualTo;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.List;
import org.junit.Test;
import org.warehouse.transforms.tablecopy.CtidRanges.PageRange;

public class CtidRangesTest {
  /** Every page in [0, pages) lies in exactly one range; ranges are contiguous; the last is open. */
  private static void assertCovers(List<PageRange> ranges, long pages) {
    long next = 0;
    for (int i = 0; i < ranges.size(); i++) {
      PageRange r = ranges.get(i);
      assertThat("range " + i + " starts where the previous ended", r.fromPage(), equalTo(next));
      if (i < ranges.size() - 1) {
        assertTrue("range " + i + " is not empty", r.toPage() > r.fromPage());
        assertTrue("only the last range is open", !r.open());
        next = r.toPage();
      } else {
        assertTrue("the last range is open", r.open());
        assertTrue("the last range starts inside the table", r.fromPage() < Math.max(1, pages));
      }
    }
  }

  @Test
  public void coversEveryPageOnceForManyShapes() {
    for (long pages : new long[] {0, 1, 2, 3, 7, 100, 1001, 123457}) {
      for (long rows : new long[] {0, 1, 50, 10_000, 5_000_000}) {
        for (long per : new long[] {1, 3, 1000, 250_000, Long.MAX_VALUE / 4}) {
          List<PageRange> r = CtidRanges.pages(pages, rows, per);
          assertCovers(r, pages);
          assertThat("no more ranges than pages", (long) r.size(), lessThanOrEqualTo(Math.max(1, pages)));
        }
      }
    }
  }

  @Test
  public void aboutRowsPerRangeEach() {
    // 10,000 pages of 100 rows, 250,000 rows a range: 4 ranges of 2,500 pages
    List<PageRange> r = CtidRanges.pages(10_000, 1_000_000, 250_000);
    assertThat(r, equalTo(List.of(new PageRange(0, 2500), new PageRange(2500, 5000), new PageRange(5000, 7500),
        new PageRange(7500, TableRange.ALL_PAGES))));
  }

  @Test
  public void oneRangeForASmallOrEmptyTable() {
    assertThat(CtidRanges.pages(0, 0, 1000), equalTo(List.of(new PageRange(0, TableRange.ALL_PAGES))));
    assertThat(CtidRanges.pages(5, 40, 1000), equalTo(List.of(new PageRange(0, TableRange.ALL_PAGES))));
  }

  @Test
  public void refusesLessThanOneRowPerRange() {
    assertThrows(IllegalArgumentException.class, () -> CtidRanges.pages(10, 10, 0));
  }

  @Test
  public void splitNamesTheCopyWork() {
    List<TableRange> r = CtidRanges.split("s.dest", "a, b", "\"public\".\"t\"", 4, 400, 200);
    assertThat(r.size(), equalTo(2));
    assertThat(r.get(0).where(), equalTo("ctid >= '(0,0)'::tid AND ctid < '(2,0)'::tid"));
    assertThat(r.get(1).toPage(), equalTo(TableRange.ALL_PAGES));
  }
}
