package org.warehouse.pipelines;

import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.warehouse.pipelines.common.ReportOptions;
import org.warehouse.pipelines.common.SyntheticDataOptions;
import org.warehouse.pipelines.common.Progress;
import org.warehouse.pipelines.common.RunReport;
import org.warehouse.transforms.births.SyntheticBirths;
import org.warehouse.transforms.ingest.SinascCsvWriter;

/**
 * generate-csv: writes SINASC-style CSV exports (or, with {@code --format=dbc}, DATASUS .dbc files) from
 * the same deterministic generator as {@code generate}, with a fraction of the lines damaged (see {@link
 * SinascCsvWriter}). Needs no database:
 * the municipality codes and names come from the bundled IBGE reference CSV. Files are written in
 * parallel, one thread per file (at most one per core).
 */
public final class GenerateCsvPipeline {
  /** Options of {@code scripts/run generate-csv}. */
  public interface GenerateCsvOptions extends ReportOptions, SyntheticDataOptions {
    @Description("Directory to write the files into (created when missing)")
    @Validation.Required
    String getOut();

    void setOut(String value);


    @Description("Number of files to split the births over")
    @Default.Integer(4)
    int getFiles();

    void setFiles(int value);

    @Description("Fraction of lines damaged (bad date, non-numeric weight, ragged row, unknown code, "
        + "unbalanced quote, empty line)")
    @Default.Double(0.001)
    double getBadRate();

    void setBadRate(double value);


    @Description("File encoding: ISO-8859-1 (as DATASUS publishes) or UTF-8")
    @Default.String("ISO-8859-1")
    String getEncoding();

    void setEncoding(String value);

    @Description("With UTF-8: start each file with a byte-order mark")
    @Default.Boolean(false)
    boolean getBom();

    void setBom(boolean value);

    @Description("gzip the files (*.csv.gz)")
    @Default.Boolean(false)
    boolean getGzip();

    void setGzip(boolean value);

    @Description("csv (SINASC-style ;-delimited text) or dbc (DATASUS .dbc files DNAC2015.dbc, DNAL2015.dbc, ...:"
        + " the 61-field 2019 layout, PKWare DCL compressed; damage: bad date, bad weight, unknown code, and"
        + " records flagged deleted)")
    @Default.String("csv")
    String getFormat();

    void setFormat(String value);
  }

  private GenerateCsvPipeline() {}

  public static List<SinascCsvWriter.FileResult> run(GenerateCsvOptions o) throws Exception {
    return run(o, new RunReport("generate-csv"));
  }

  public static List<SinascCsvWriter.FileResult> run(GenerateCsvOptions o, RunReport report) throws Exception {
    if (o.getBirths() < 0 || o.getFiles() < 1 || o.getBadRate() < 0 || o.getBadRate() > 1) {
      throw new IllegalArgumentException("need --births >= 0, --files >= 1 and 0 <= --badRate <= 1");
    }
    Charset cs;
    try {
      cs = Charset.forName(o.getEncoding());
    } catch (Exception e) {
      throw new IllegalArgumentException("unknown --encoding " + o.getEncoding() + " (use ISO-8859-1 or UTF-8)");
    }
    SinascCsvWriter.Format format = format(o.getFormat());
    Progress progress = Progress.stdout();
    Path dir = Path.of(o.getOut());
    Files.createDirectories(dir);
    Map<Integer, String> names = municipalityNames();
    int[] codes = names.keySet().stream().mapToInt(Integer::intValue).toArray();
    SinascCsvWriter writer = new SinascCsvWriter(new SyntheticBirths(codes, o.getSeed()), names, o.getBirths(),
        o.getFiles(), o.getBadRate(), o.getSeed(), cs, o.getGzip(), o.getBom(), format);
    long started = System.nanoTime();
    progress.say("generate-csv: %s births (seed %d) into %d file(s) in %s, %s, %.4f of the lines damaged",
        Progress.rows(o.getBirths()), o.getSeed(), o.getFiles(), dir,
        (format == SinascCsvWriter.Format.DBC ? ".dbc " : "") + cs.name() + (o.getGzip() ? " gzip" : ""),
        o.getBadRate());
    ExecutorService pool = Executors.newFixedThreadPool(
        Math.max(1, Math.min(o.getFiles(), Runtime.getRuntime().availableProcessors())));
    List<SinascCsvWriter.FileResult> results = new ArrayList<>();
    try {
      List<Future<SinascCsvWriter.FileResult>> futures = new ArrayList<>();
      for (int k = 0; k < o.getFiles(); k++) {
        int file = k;
        futures.add(pool.submit(() -> writer.write(dir, file)));
      }
      int i = 0;
      for (Future<SinascCsvWriter.FileResult> f : futures) {
        SinascCsvWriter.FileResult r = f.get();
        results.add(r);
        progress.step(++i, futures.size(), "%s  %s lines, %d damaged%s", r.path.getFileName(),
            Progress.rows(r.lines), r.damaged.size(), r.deleted.isEmpty() ? "" : ", " + r.deleted.size() + " deleted");
      }
    } finally {
      pool.shutdownNow();
    }
    long lines = results.stream().mapToLong(r -> r.lines).sum();
    long damaged = results.stream().mapToLong(r -> r.damaged.size()).sum();
    report.counter("lines", lines).counter("damagedLines", damaged).detail("out", dir.toString());
    if (format == SinascCsvWriter.Format.DBC) {
      report.counter("deletedRecords", results.stream().mapToLong(r -> r.deleted.size()).sum());
    }
    progress.say("generate-csv: %s lines (%s damaged) in %s", Progress.rows(lines), Progress.rows(damaged),
        Progress.seconds(System.nanoTime() - started));
    return results;
  }

  static SinascCsvWriter.Format format(String value) {
    switch (value.toLowerCase(java.util.Locale.ROOT)) {
      case "csv": return SinascCsvWriter.Format.CSV;
      case "dbc": return SinascCsvWriter.Format.DBC;
      default: throw new IllegalArgumentException("unknown --format " + value + " (use csv or dbc)");
    }
  }

  /** municipality_code6 → name, from the IBGE reference CSV bundled on the classpath. */
  static Map<Integer, String> municipalityNames() throws Exception {
    Map<Integer, String> names = new HashMap<>();
    try (InputStream in = GenerateCsvPipeline.class.getResourceAsStream("/reference/ibge_municipalities.csv")) {
      if (in == null) {
        throw new IllegalStateException("reference/ibge_municipalities.csv is missing from the jar: rebuild it");
      }
      Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8);
      try (CSVParser p = CSVParser.parse(reader,
          CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).build())) {
        for (CSVRecord r : p) {
          names.put(Integer.parseInt(r.get("municipality_code6")), r.get("municipality_name"));
        }
      }
    }
    return names;
  }
}
