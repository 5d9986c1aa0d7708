package org.warehouse.transforms.ingest;

import java.util.Objects;
import org.warehouse.transforms.jdbc.CopyText;

/** A line that could not be typed: the dead-letter record, with the original text and the reason. */
public final class IngestReject {
  public final String fileName;
  public final long lineNumber;
  public final String rawLine;
  public final String reason;

  public IngestReject(String fileName, long lineNumber, String rawLine, String reason) {
    this.fileName = fileName;
    this.lineNumber = lineNumber;
    this.rawLine = rawLine;
    this.reason = reason;
  }

  /** COPY text line for ingest_rejects(file_name, line_number, raw_line, reason). */
  public String copyLine() {
    // PostgreSQL text cannot hold NUL: such a line keeps U+FFFD in its place (the reason says so).
    return new CopyText().add(fileName).add(lineNumber).add(rawLine.replace('\0', '\uFFFD')).add(reason).line();
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof IngestReject)) {
      return false;
    }
    IngestReject r = (IngestReject) o;
    return lineNumber == r.lineNumber && fileName.equals(r.fileName) && rawLine.equals(r.rawLine)
        && reason.equals(r.reason);
  }

  @Override
  public int hashCode() {
    return Objects.hash(fileName, lineNumber, rawLine, reason);
  }

  @Override
  public String toString() {
    return fileName + ":" + lineNumber + " " + reason + " [" + rawLine + "]";
  }
}
