package org.warehouse.transforms.reference;

import java.io.IOException;
import java.io.StringReader;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.apache.beam.sdk.values.KV;
import org.warehouse.transforms.jdbc.CopyText;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Parses one reference CSV (name → content) with Commons CSV and emits COPY lines for its table.
 * Reference data must be perfect: a bad line fails the load with the file, the line and the reason.
 */
public class ParseReferenceCsv extends DoFn<KV<String, String>, KV<String, String>> {
  private static final long serialVersionUID = 1L;
  private final Counter rows = Metrics.counter(ParseReferenceCsv.class, "referenceRows");

  /** File name → (destination table, expected header). */
  private final Map<String, KV<String, List<String>>> files;

  public ParseReferenceCsv(Map<String, KV<String, List<String>>> files) {
    this.files = files;
  }

  @ProcessElement
  public void process(@Element KV<String, String> file, OutputReceiver<KV<String, String>> out) throws IOException {
    KV<String, List<String>> spec = files.get(file.getKey());
    if (spec == null) {
      throw new WarehouseException("unexpected reference file " + file.getKey());
    }
    List<String> header = spec.getValue();
    CSVFormat format = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).build();
    try (CSVParser parser = CSVParser.parse(new StringReader(file.getValue()), format)) {
      if (!parser.getHeaderNames().equals(header)) {
        throw new WarehouseException(file.getKey() + ": header is " + parser.getHeaderNames() + ", expected " + header);
      }
      for (CSVRecord r : parser) {
        long line = r.getRecordNumber() + 1;
        if (r.size() != header.size()) {
          throw new WarehouseException(file.getKey() + " line " + line + ": " + r.size() + " fields, expected "
              + header.size() + "; fix the file (scripts/derive-reference regenerates it)");
        }
        CopyText t = new CopyText();
        for (int i = 0; i < header.size(); i++) {
          String v = r.get(i).trim();
          if (v.isEmpty()) {
            throw new WarehouseException(file.getKey() + " line " + line + ": empty " + header.get(i));
          }
          boolean numeric = header.get(i).endsWith("_code") || header.get(i).endsWith("_code6");
          if (numeric && !v.chars().allMatch(Character::isDigit)) {
            throw new WarehouseException(file.getKey() + " line " + line + ": " + header.get(i) + " '" + v
                + "' is not a number");
          }
          t.add(v);
        }
        checkCodes(file.getKey(), line, header, r);
        rows.inc();
        out.output(KV.of(spec.getKey(), t.line()));
      }
    }
  }

  /** A municipality's 6-digit code is its 7-digit code without the check digit; its state is the first two. */
  private static void checkCodes(String file, long line, List<String> header, CSVRecord r) {
    if (header.contains("municipality_code6")) {
      long code7 = Long.parseLong(r.get("municipality_code"));
      long code6 = Long.parseLong(r.get("municipality_code6"));
      long state = Long.parseLong(r.get("state_code"));
      if (code7 < 1_000_000 || code7 > 9_999_999 || code6 != code7 / 10 || state != code7 / 100_000) {
        throw new WarehouseException(file + " line " + line + ": codes disagree (municipality_code " + code7
            + ", municipality_code6 " + code6 + ", state_code " + state + ")");
      }
    }
  }
}
