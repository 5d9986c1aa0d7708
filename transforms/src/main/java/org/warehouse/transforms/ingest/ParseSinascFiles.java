package org.warehouse.transforms.ingest;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PushbackInputStream;
import java.io.Serializable;
import java.nio.channels.Channels;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.zip.GZIPInputStream;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.warehouse.transforms.births.BirthRecord;
import org.warehouse.transforms.jdbc.CopyText;

/**
 * Parses whole SINASC files, one file per call, into three outputs:
 *
 * <ul>
 *   <li>{@link #ROWS}: {@code KV<staging table, COPY lines>} — typed silver rows (fact_births columns),
 *       bronze rows (file, line, the raw SINASC fields as text) and one summary row per file
 *       (file_name, file_id, lines_read, sha256, error).
 *   <li>{@link #REJECTS}: the dead letters — every line that could not be typed, with its original
 *       text and a reason naming the column.
 * </ul>
 *
 * <p>Files named {@code *.gz} are gunzipped. The text is decoded with the given charset, except
 * that a file starting with a UTF-8 byte-order mark is read as UTF-8 (the BOM is dropped). The
 * SHA-256 of the file's bytes (compressed, as stored) is computed while reading; a file whose hash
 * differs from the planned one (it changed after planning) or whose header lacks a column yields
 * only a summary row carrying the error, and the driver refuses it.
 *
 * <p>birth_id = file_id × 10^9 + physical line number (the header is line 1).
 */
public class ParseSinascFiles extends PTransform<PCollection<FileIO.ReadableFile>, PCollectionTuple> {
  private static final long serialVersionUID = 1L;

  public static final TupleTag<KV<String, String>> ROWS = new TupleTag<KV<String, String>>() {};
  public static final TupleTag<IngestReject> REJECTS = new TupleTag<IngestReject>() {};

  /**
   * Silver and bronze rows leave the parser as chunks of up to ~1 MB of COPY lines (joined by
   * newlines): a few hundred elements per file instead of one per row, which is most of the cost
   * on a runner that serializes between steps. {@link org.warehouse.transforms.jdbc.WriteByCopy}
   * writes and counts them as rows.
   */
  static final int CHUNK_CHARS = 1 << 20;

  /** birth_id = file_id * ID_BASE + line number. */
  public static final long ID_BASE = 1_000_000_000L;

  /** Where each output goes and what each file is expected to be. */
  public static final class Spec implements Serializable {
    private static final long serialVersionUID = 1L;
    final String silverTable;
    final String bronzeTable;
    final String filesTable;
    final String encoding;
    final Map<String, Long> fileIds; // file name -> file_id; files not in it are skipped
    final Map<String, String> sha256; // file name -> expected sha256 (hex), may be empty

    public Spec(String silverTable, String bronzeTable, String filesTable, String encoding,
        Map<String, Long> fileIds, Map<String, String> sha256) {
      this.silverTable = silverTable;
      this.bronzeTable = bronzeTable;
      this.filesTable = filesTable;
      this.encoding = Charset.forName(encoding).name();
      this.fileIds = fileIds;
      this.sha256 = sha256;
    }
  }

  private final Spec spec;

  private ParseSinascFiles(Spec spec) {
    this.spec = spec;
  }

  public static ParseSinascFiles with(Spec spec) {
    return new ParseSinascFiles(spec);
  }

  @Override
  public PCollectionTuple expand(PCollection<FileIO.ReadableFile> files) {
    PCollectionTuple out = files.apply("ParseEachFile",
        ParDo.of(new ParseFileFn(spec)).withOutputTags(ROWS, TupleTagList.of(REJECTS)));
    out.get(REJECTS).setCoder(IngestReject.RejectCoder.of());
    return out;
  }

  /** The name a file is known by in the ledger: its base name. */
  public static String fileName(String path) {
    String p = path;
    while (p.endsWith("/")) {
      p = p.substring(0, p.length() - 1);
    }
    int slash = p.lastIndexOf('/');
    return slash < 0 ? p : p.substring(slash + 1);
  }

  /** Where a file's lines go: chunks of COPY lines (joined by newlines) and dead letters. */
  interface Sink {
    void silver(StringBuilder chunk) throws IOException;

    void bronze(StringBuilder chunk) throws IOException;

    void reject(IngestReject r) throws IOException;
  }

  /** What reading one file gave. */
  static final class Outcome {
    long lines;
    long typed;
    long rejected;
    String sha256;
    String error;
  }

  /**
   * Reads, decodes, splits and types one file into {@code sink}; the SHA-256 of its stored bytes is
   * compared with {@code expectedSha} (null: not checked). A file-level error (empty, header lacks a
   * column, changed while read) is returned in {@link Outcome#error}.
   */
  static Outcome readFile(FileIO.ReadableFile file, String name, long fileId, String encoding, String expectedSha,
      boolean withBronze, Sink sink) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    Outcome o = new Outcome();
    try (DigestInputStream raw = new DigestInputStream(Channels.newInputStream(file.open()), md)) {
      InputStream in = new BufferedInputStream(raw, 1 << 16);
      if (name.toLowerCase(Locale.ROOT).endsWith(".gz")) {
        in = new GZIPInputStream(in, 1 << 16);
      }
      PushbackInputStream pb = new PushbackInputStream(in, 3);
      Charset cs = Charset.forName(encoding);
      byte[] bom = new byte[3];
      int n = pb.readNBytes(bom, 0, 3);
      if (n == 3 && (bom[0] & 0xFF) == 0xEF && (bom[1] & 0xFF) == 0xBB && (bom[2] & 0xFF) == 0xBF) {
        cs = StandardCharsets.UTF_8;
      } else if (n > 0) {
        pb.unread(bom, 0, n);
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(pb, cs), 1 << 16);
      String header = reader.readLine();
      SinascLineParser parser = null;
      if (header == null) {
        o.error = "empty file: no header line";
      } else {
        try {
          parser = SinascLineParser.forHeader(header);
        } catch (IllegalArgumentException e) {
          o.error = e.getMessage();
        }
      }
      if (parser != null) {
        parseLines(name, fileId, reader, parser, withBronze, sink, o);
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

  private static void parseLines(String name, long fileId, BufferedReader reader, SinascLineParser parser,
      boolean withBronze, Sink sink, Outcome o) throws IOException {
    SinascLineParser.Result r = new SinascLineParser.Result();
    StringBuilder silver = new StringBuilder(CHUNK_CHARS + 4096);
    StringBuilder bronze = new StringBuilder(withBronze ? CHUNK_CHARS + 4096 : 16);
    long lineNo = 1;
    String line;
    while ((line = reader.readLine()) != null) {
      lineNo++;
      o.lines++;
      if (lineNo >= ID_BASE) {
        throw new IllegalArgumentException(name + " has more than " + (ID_BASE - 1) + " lines: split it");
      }
      parser.parse(line, r);
      if (withBronze && r.raw != null) {
        if (bronze.length() > 0) {
          bronze.append('\n');
        }
        CopyText.escapeInto(bronze, name);
        bronze.append('\t').append(lineNo);
        for (String f : r.raw) {
          bronze.append('\t');
          CopyText.escapeInto(bronze, f);
        }
        if (bronze.length() >= CHUNK_CHARS) {
          sink.bronze(bronze);
          bronze.setLength(0);
        }
      }
      if (r.ok()) {
        if (silver.length() > 0) {
          silver.append('\n');
        }
        appendSilverLine(silver, fileId * ID_BASE + lineNo, r.typed);
        if (silver.length() >= CHUNK_CHARS) {
          sink.silver(silver);
          silver.setLength(0);
        }
        o.typed++;
      } else {
        sink.reject(new IngestReject(name, lineNo, line, r.reason));
        o.rejected++;
      }
    }
    if (bronze.length() > 0) {
      sink.bronze(bronze);
    }
    if (silver.length() > 0) {
      sink.silver(silver);
    }
  }

  /** fact_births column order: birth_id, birth_date, code, cnes, sex, weight, weeks, age, delivery, prenatal. */
  static void appendSilverLine(StringBuilder sb, long birthId, int[] t) {
    sb.append(birthId).append('\t');
    appendDate(sb, t[0]);
    for (int i = 1; i < t.length; i++) {
      sb.append('\t');
      if (t[i] == BirthRecord.NULL) {
        sb.append("\\N");
      } else {
        sb.append(t[i]);
      }
    }
  }

  /** yyyy-MM-dd of an epoch day (years 1000..9999), without a LocalDate.toString() per row. */
  static void appendDate(StringBuilder sb, int epochDay) {
    LocalDate d = LocalDate.ofEpochDay(epochDay);
    int m = d.getMonthValue();
    int day = d.getDayOfMonth();
    sb.append(d.getYear()).append(m < 10 ? "-0" : "-").append(m).append(day < 10 ? "-0" : "-").append(day);
  }

  static class ParseFileFn extends DoFn<FileIO.ReadableFile, KV<String, String>> {
    private static final long serialVersionUID = 1L;
    private final Counter linesRead = Metrics.counter(ParseSinascFiles.class, "linesRead");
    private final Counter rowsTyped = Metrics.counter(ParseSinascFiles.class, "rowsTyped");
    private final Counter rowsRejected = Metrics.counter(ParseSinascFiles.class, "rowsRejected");
    private final Counter filesParsed = Metrics.counter(ParseSinascFiles.class, "filesParsed");
    private final Counter filesFailed = Metrics.counter(ParseSinascFiles.class, "filesFailed");

    private final Spec spec;

    ParseFileFn(Spec spec) {
      this.spec = spec;
    }

    @ProcessElement
    public void process(@Element FileIO.ReadableFile file, MultiOutputReceiver out) throws IOException {
      String name = fileName(file.getMetadata().resourceId().toString());
      Long fileId = spec.fileIds.get(name);
      if (fileId == null) {
        return; // not planned (already loaded, or appeared after planning)
      }
      DoFn.OutputReceiver<KV<String, String>> rows = out.get(ROWS);
      DoFn.OutputReceiver<IngestReject> rejects = out.get(REJECTS);
      Outcome o = readFile(file, name, fileId, spec.encoding, spec.sha256.get(name), true, new Sink() {
        @Override
        public void silver(StringBuilder chunk) {
          rows.output(KV.of(spec.silverTable, chunk.toString()));
        }

        @Override
        public void bronze(StringBuilder chunk) {
          rows.output(KV.of(spec.bronzeTable, chunk.toString()));
        }

        @Override
        public void reject(IngestReject r) {
          rejects.output(r);
        }
      });
      linesRead.inc(o.lines);
      rowsTyped.inc(o.typed);
      rowsRejected.inc(o.rejected);
      if (o.error != null) {
        filesFailed.inc();
      } else {
        filesParsed.inc();
      }
      out.get(ROWS).output(KV.of(spec.filesTable,
          new CopyText().add(name).add(fileId).add(o.lines).add(o.sha256).add(o.error).line()));
    }
  }
}
