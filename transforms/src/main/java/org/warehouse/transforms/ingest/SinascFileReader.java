package org.warehouse.transforms.ingest;

import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.nio.channels.Channels;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import org.apache.beam.sdk.io.FileIO;
import org.warehouse.transforms.births.FactBirths;

/**
 * Reads one SINASC file: decodes, splits and types each line ({@link SinascLineParser}) and hands the
 * results to a {@link Sink} as COPY data — typed rows for the fact table (COPY binary), raw fields for
 * bronze (COPY text) in chunks of ~1 MB, and every line that cannot be typed as an {@link IngestReject}.
 *
 * <p>Files named {@code *.gz} are gunzipped. The text is decoded with the given charset, except that
 * a file starting with a UTF-8 byte-order mark is read as UTF-8 (the BOM is dropped). The SHA-256 of
 * the file's bytes (compressed, as stored) is computed while reading; a file whose hash differs from
 * the planned one (it changed after planning) or whose header lacks a column gets a file-level error.
 *
 * <p>birth_id = file_id × 10^9 + physical line number (the header is line 1).
 */
final class SinascFileReader {
  private SinascFileReader() {}

  /** A chunk is handed over once it holds this many bytes: one COPY statement each. */
  static final int CHUNK_BYTES = 1 << 20;

  /** birth_id = file_id * ID_BASE + line number. */
  static final long ID_BASE = 1_000_000_000L;

  /** Number of fact_births columns (FactBirths.COLUMNS order). */
  static final int FACT_FIELDS = FactBirths.COLUMNS.size();

  /** Where a file's data goes; a full chunk is handed over and a fresh, empty one taken back. */
  interface Sink {
    /** Fact rows, COPY binary rows (no header or trailer) in FactBirths.COLUMNS order. */
    CopyBuffer silver(CopyBuffer chunk) throws IOException;

    /** Bronze rows, COPY text rows: file_id, line_number and the REQUIRED fields. */
    CopyBuffer bronze(CopyBuffer chunk) throws IOException;

    void reject(IngestReject r) throws IOException;
  }

  /** What reading one file gave. */
  static final class Outcome {
    long lines;
    /** DBF records flagged deleted: skipped, not in lines. */
    long deleted;
    long typed;
    long rejected;
    String sha256;
    String error;
  }

  /** The name a file is known by in the ledger: its base name. */
  static String fileName(String path) {
    String p = path;
    while (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    int slash = p.lastIndexOf('/');
    return slash < 0 ? p : p.substring(slash + 1);
  }

  /**
   * Reads, decodes, splits and types one file into {@code sink}; the SHA-256 of its stored bytes is
   * compared with {@code expectedSha} (null: not checked). A file-level error (empty, header lacks a
   * column, changed while read) is returned in {@link Outcome#error}.
   */
  static Outcome readFile(FileIO.ReadableFile file, String name, long fileId, LoadSinascFiles.Rules rules,
      String expectedSha, boolean withBronze, Sink sink) throws IOException {
    return read(Channels.newInputStream(file.open()), name, fileId, rules, expectedSha, withBronze, sink);
  }

  /** {@link #readFile} on an open stream of the file's stored bytes (closed here). */
  static Outcome read(InputStream stored, String name, long fileId, LoadSinascFiles.Rules rules, String expectedSha,
      boolean withBronze, Sink sink) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    Outcome o = new Outcome();
    boolean gzip = name.toLowerCase(Locale.ROOT).endsWith(".gz");
    try (DigestInputStream raw = new DigestInputStream(stored, md)) {
      try {
        if (SinascDbfReader.handles(name)) {
          SinascDbfReader.read(new Guarded(new BufferedInputStream(raw, 1 << 16)), name, fileId,
              Charset.forName(rules.encoding()), withBronze, sink, o);
        } else {
          readLines(raw, gzip, name, fileId, rules, withBronze, sink, o);
        }
      } catch (Unreadable e) {
        // a truncated or corrupt file: refused like a file over --maxRejectRatio (nothing of it is loaded)
        o.error = "cannot be read after line " + (o.lines + 1) + ": " + e.getMessage() + " (a truncated or corrupt "
            + (gzip ? "gzip " : "") + "file? Nothing of it was loaded: replace it, then re-run)";
      }
      // hash every byte of the file, whatever the reader left unread (gzip trailer, or all of it)
      byte[] buf = new byte[1 << 16];
      while (raw.read(buf) >= 0) {
        // drain
      }
    }
    o.sha256 = HexFormat.of().formatHex(md.digest());
    if (o.error == null && expectedSha != null && !expectedSha.equals(o.sha256)) {
      o.error = "the file changed while the run read it (sha256 " + o.sha256 + ", planned " + expectedSha + "): re-run";
    }
    return o;
  }

  /** Decompresses, decodes and parses the file's lines into {@code sink}; a read error is {@link Unreadable}. */
  private static void readLines(InputStream raw, boolean gzip, String name, long fileId, LoadSinascFiles.Rules rules,
      boolean withBronze, Sink sink, Outcome o) throws IOException {
    InputStream in = new BufferedInputStream(raw, 1 << 16);
    if (gzip) {
      try {
        in = new GZIPInputStream(in, 1 << 16);
      } catch (IOException e) {
        throw new Unreadable(e);
      }
    }
    PushbackInputStream pb = new PushbackInputStream(new Guarded(in), 3);
    Charset cs = Charset.forName(rules.encoding());
    byte[] bom = new byte[3];
    int n = pb.readNBytes(bom, 0, 3);
    if (n == 3 && (bom[0] & 0xFF) == 0xEF && (bom[1] & 0xFF) == 0xBB && (bom[2] & 0xFF) == 0xBF) {
      cs = StandardCharsets.UTF_8;
    } else if (n > 0) {
      pb.unread(bom, 0, n);
    }
    LineReader reader = new LineReader(pb, cs, rules.maxLineBytes());
    SinascLineParser parser = null;
    if (!reader.next()) {
      o.error = "empty file: no header line";
    } else {
      try {
        parser = SinascLineParser.forHeader(reader.line());
      } catch (IllegalArgumentException e) {
        o.error = e.getMessage();
      }
    }
    if (parser != null) {
      parseLines(name, fileId, reader, parser, withBronze, sink, o, rules.maxLineBytes());
    }
  }

  /** An error while reading or decompressing the file's content (not one of the sink's). */
  private static final class Unreadable extends IOException {
    private static final long serialVersionUID = 1L;

    Unreadable(IOException cause) {
      super(cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage(), cause);
    }
  }

  /** Turns the content stream's IOExceptions into {@link Unreadable}. */
  private static final class Guarded extends FilterInputStream {
    Guarded(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      try {
        return in.read();
      } catch (IOException e) {
        throw new Unreadable(e);
      }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      try {
        return in.read(b, off, len);
      } catch (IOException e) {
        throw new Unreadable(e);
      }
    }
  }

  private static void parseLines(String name, long fileId, LineReader reader, SinascLineParser parser,
      boolean withBronze, Sink sink, Outcome o, int maxLineBytes) throws IOException {
    SinascLineParser.Result r = new SinascLineParser.Result();
    RowWriter out = new RowWriter(sink, name, fileId, withBronze, o);
    long lineNo = 1;
    while (reader.next()) {
      out.count(++lineNo, "lines");
      if (reader.longLineBytes > 0) {
        out.reject(lineNo, reader.line(), longLineReason(reader.longLineBytes, maxLineBytes));
      } else if (!out.write(parser.parse(reader.chars, reader.length, r), lineNo)) {
        out.reject(lineNo, reader.line(), r.reason);
      }
    }
    out.finish();
  }

  /** The reason of a line over {@code --maxLineBytes}: its length, the cap, and what was kept of it. */
  static String longLineReason(long bytes, int maxLineBytes) {
    return "row: " + bytes + " bytes, longer than --maxLineBytes=" + maxLineBytes + " (raw_line keeps its first "
        + LineReader.KEPT_BYTES + " bytes)";
  }
}
