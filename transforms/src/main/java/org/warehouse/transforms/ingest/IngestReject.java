package org.warehouse.transforms.ingest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Objects;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
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

  /** file, line, raw, reason. */
  public static final class RejectCoder extends AtomicCoder<IngestReject> {
    private static final long serialVersionUID = 1L;
    private static final RejectCoder INSTANCE = new RejectCoder();
    private static final Coder<String> S = StringUtf8Coder.of();
    private static final Coder<Long> L = VarLongCoder.of();

    public static RejectCoder of() {
      return INSTANCE;
    }

    @Override
    public void encode(IngestReject r, OutputStream out) throws IOException {
      S.encode(r.fileName, out);
      L.encode(r.lineNumber, out);
      S.encode(r.rawLine, out);
      S.encode(r.reason, out);
    }

    @Override
    public IngestReject decode(InputStream in) throws IOException {
      return new IngestReject(S.decode(in), L.decode(in), S.decode(in), S.decode(in));
    }

    @Override
    public void verifyDeterministic() {}

    @Override
    public boolean consistentWithEquals() {
      return true;
    }
  }
}
