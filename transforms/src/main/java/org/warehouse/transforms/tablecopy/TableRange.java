package org.warehouse.transforms.tablecopy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;

/**
 * One unit of copy work: the rows of a source table whose {@code ctid} lies in pages
 * [{@code fromPage}, {@code toPage}), to be written into {@code destination} (a staging table,
 * {@code schema.table}). {@code select} is the validated, quoted column list and table to read.
 */
public final class TableRange {
  /** Upper bound for the last range of a table: every page (tid block numbers are uint32). */
  public static final long ALL_PAGES = 4294967295L;

  private final String destination;
  private final String columns; // quoted column list, e.g. "a", "b"
  private final String source; // quoted schema.table
  private final long fromPage;
  private final long toPage;

  public TableRange(String destination, String columns, String source, long fromPage, long toPage) {
    this.destination = destination;
    this.columns = columns;
    this.source = source;
    this.fromPage = fromPage;
    this.toPage = toPage;
  }

  public String destination() {
    return destination;
  }

  public String columns() {
    return columns;
  }

  public String source() {
    return source;
  }

  public long fromPage() {
    return fromPage;
  }

  public long toPage() {
    return toPage;
  }

  /** The WHERE clause selecting this range (a TID range scan, PostgreSQL 14+). */
  public String where() {
    return "ctid >= '(" + fromPage + ",0)'::tid AND ctid < '(" + toPage + ",0)'::tid";
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof TableRange)) {
      return false;
    }
    TableRange r = (TableRange) o;
    return r.destination.equals(destination) && r.columns.equals(columns) && r.source.equals(source)
        && r.fromPage == fromPage && r.toPage == toPage;
  }

  @Override
  public int hashCode() {
    return Objects.hash(destination, source, fromPage, toPage);
  }

  @Override
  public String toString() {
    return source + " pages [" + fromPage + "," + toPage + ") -> " + destination;
  }

  /** Deterministic coder: three strings and two longs. */
  public static final class Coder extends AtomicCoder<TableRange> {
    private static final long serialVersionUID = 1L;
    private static final Coder INSTANCE = new Coder();
    private static final StringUtf8Coder S = StringUtf8Coder.of();
    private static final VarLongCoder L = VarLongCoder.of();

    public static Coder of() {
      return INSTANCE;
    }

    @Override
    public void encode(TableRange r, OutputStream out) throws IOException {
      S.encode(r.destination, out);
      S.encode(r.columns, out);
      S.encode(r.source, out);
      L.encode(r.fromPage, out);
      L.encode(r.toPage, out);
    }

    @Override
    public TableRange decode(InputStream in) throws IOException {
      return new TableRange(S.decode(in), S.decode(in), S.decode(in), L.decode(in), L.decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
