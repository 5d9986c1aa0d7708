package org.warehouse.transforms.jdbc;

import java.math.BigDecimal;

/** Builds lines in PostgreSQL's COPY text format (tab-separated, {@code \N} for NULL). */
public final class CopyText {
  public static final String NULL = "\\N";

  private final StringBuilder sb = new StringBuilder(128);

  public CopyText add(String value) {
    sep();
    if (value == null) {
      sb.append(NULL);
    } else {
      escapeInto(sb, value);
    }
    return this;
  }

  public CopyText add(long value) {
    sep();
    sb.append(value);
    return this;
  }

  public CopyText addNullable(Number value) {
    sep();
    if (value == null) {
      sb.append(NULL);
    } else if (value instanceof BigDecimal) {
      sb.append(((BigDecimal) value).toPlainString());
    } else {
      sb.append(value);
    }
    return this;
  }

  /** A raw, already valid field (e.g. an ISO date). */
  public CopyText addRaw(String value) {
    sep();
    sb.append(value == null ? NULL : value);
    return this;
  }

  public String line() {
    return sb.toString();
  }

  private void sep() {
    if (sb.length() > 0) {
      sb.append('\t');
    }
  }

  /** Escapes backslash, tab, newline and carriage return as COPY text requires. */
  public static void escapeInto(StringBuilder out, String value) {
    for (int i = 0; i < value.length(); i++) {
      char ch = value.charAt(i);
      switch (ch) {
        case '\\':
          out.append("\\\\");
          break;
        case '\t':
          out.append("\\t");
          break;
        case '\n':
          out.append("\\n");
          break;
        case '\r':
          out.append("\\r");
          break;
        default:
          out.append(ch);
      }
    }
  }

  public static String escape(String value) {
    StringBuilder sb = new StringBuilder(value.length() + 8);
    escapeInto(sb, value);
    return sb.toString();
  }
}
