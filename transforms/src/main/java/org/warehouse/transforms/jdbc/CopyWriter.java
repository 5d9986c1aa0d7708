package org.warehouse.transforms.jdbc;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyIn;

/**
 * Streams COPY text lines into one {@code COPY … FROM STDIN} in ~1 MB writes. Append whole lines
 * (ending with a newline) to {@link #buffer()} and call {@link #lineAdded()}; {@link #finish()} ends
 * the COPY; {@link #close()} cancels it when {@code finish} was not reached.
 */
public final class CopyWriter implements AutoCloseable {
  private static final int FLUSH_AT = (1 << 20) - 1024;

  private final CopyIn copy;
  private final StringBuilder buffer = new StringBuilder(1 << 20);
  private long lines;

  private CopyWriter(CopyIn copy) {
    this.copy = copy;
  }

  /** Starts {@code copySql} (a {@code COPY … FROM STDIN} statement) on {@code connection}. */
  public static CopyWriter open(Connection connection, String copySql) throws SQLException {
    return new CopyWriter(connection.unwrap(PGConnection.class).getCopyAPI().copyIn(copySql));
  }

  public StringBuilder buffer() {
    return buffer;
  }

  /** Counts one appended line and sends the buffer when it is full (usable from lambdas). */
  public void lineAdded() {
    lines++;
    if (buffer.length() >= FLUSH_AT) {
      try {
        flush();
      } catch (SQLException e) {
        throw new WarehouseException("COPY failed: " + e.getMessage(), e);
      }
    }
  }

  /** Sends what is left and ends the COPY; returns the number of lines sent. */
  public long finish() throws SQLException {
    flush();
    copy.endCopy();
    return lines;
  }

  private void flush() throws SQLException {
    if (buffer.length() > 0) {
      byte[] b = buffer.toString().getBytes(StandardCharsets.UTF_8);
      copy.writeToCopy(b, 0, b.length);
      buffer.setLength(0);
    }
  }

  @Override
  public void close() throws SQLException {
    if (copy.isActive()) {
      copy.cancelCopy();
    }
  }
}
