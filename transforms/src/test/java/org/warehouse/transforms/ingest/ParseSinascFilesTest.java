package org.warehouse.transforms.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.containsInAnyOrder;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPOutputStream;
import org.apache.beam.sdk.io.Compression;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.FlatMapElements;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** The file parser on the DirectRunner: typed rows, bronze rows, dead letters, per-file summary. */
public class ParseSinascFilesTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();
  @Rule public final transient TemporaryFolder tmp = new TemporaryFolder();

  private static final String HEADER = "\"CODESTAB\";\"CODMUNRES\";\"NOME\";\"DTNASC\";\"SEXO\";\"PESO\";\"SEMAGESTAC\";"
      + "\"IDADEMAE\";\"PARTO\";\"CONSPRENAT\"";

  @Test
  public void latin1AndGzippedUtf8WithBom() throws Exception {
    String[] a = {
      HEADER,
      "\"2077485\";355030;\"São Paulo\";\"15032020\";1;3250;39;28;2;8", // line 2 good
      "\"2077485\";355030;\"São Paulo\";\"31022020\";1;3250;39;28;2;8", // 3 bad date
      "", // 4 empty
      ";530010;\"Brasília\";\"01012019\";0;;99;;9;", // 5 good with NULLs
      "\"2077485;355030;\"Açu\";\"15032020\";1;3250;39;28;2;8", // 6 unbalanced quote
    };
    String[] b = {
      HEADER,
      "\"1\";2408003;\"Mossoró\";\"29022024\";2;abc;39;28;2;8", // 2 bad weight
      "\"1\";2408003;\"Mossoró\";\"29022024\";2;2999;39;28;1;15", // 3 good (7-digit code)
    };
    Path fa = tmp.getRoot().toPath().resolve("a.csv");
    Files.write(fa, (String.join("\r\n", a) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
    Path fb = tmp.getRoot().toPath().resolve("b.csv.gz");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (OutputStream gz = new GZIPOutputStream(bytes)) {
      gz.write(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF});
      gz.write((String.join("\n", b) + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Files.write(fb, bytes.toByteArray());

    ParseSinascFiles.Spec spec = new ParseSinascFiles.Spec("s.silver", "s.bronze", "s.files", "ISO-8859-1",
        Map.of("a.csv", 7L, "b.csv.gz", 8L), Map.of());
    PCollectionTuple out = p.apply(FileIO.match().filepattern(tmp.getRoot() + "/*"))
        .apply(FileIO.readMatches().withCompression(Compression.UNCOMPRESSED))
        .apply(ParseSinascFiles.with(spec));

    PAssert.that(rows(out, "s.silver")).containsInAnyOrder(
        "7000000002\t2020-03-15\t355030\t2077485\t1\t3250\t39\t28\t2\t8",
        "7000000005\t2019-01-01\t530010\t\\N\t0\t\\N\t\\N\t\\N\t9\t\\N",
        "8000000003\t2024-02-29\t240800\t1\t2\t2999\t39\t28\t1\t15");
    PAssert.that(rows(out, "s.bronze")).containsInAnyOrder(
        "a.csv\t2\t355030\t15032020\t1\t3250\t39\t28\t2\t8\t2077485",
        "a.csv\t3\t355030\t31022020\t1\t3250\t39\t28\t2\t8\t2077485",
        "a.csv\t5\t530010\t01012019\t0\t\t99\t\t9\t\t",
        "b.csv.gz\t2\t2408003\t29022024\t2\tabc\t39\t28\t2\t8\t1",
        "b.csv.gz\t3\t2408003\t29022024\t2\t2999\t39\t28\t1\t15\t1");
    PAssert.that(rows(out, "s.files")).satisfies(it -> {
      List<String> got = new ArrayList<>();
      it.forEach(s -> got.add(s.replaceAll("\t[0-9a-f]{64}\t", "\tSHA\t")));
      assertThat(got, containsInAnyOrder("a.csv\t7\t5\tSHA\t\\N", "b.csv.gz\t8\t2\tSHA\t\\N"));
      return null;
    });
    PAssert.that(out.get(ParseSinascFiles.REJECTS)).containsInAnyOrder(
        new IngestReject("a.csv", 3, a[2], "DTNASC: invalid date '31022020'"),
        new IngestReject("a.csv", 4, "", "row: empty line"),
        new IngestReject("a.csv", 6, a[5],
            "row: unbalanced or misplaced quote (Invalid character between encapsulated token and delimiter at line: 1, position: 18)"),
        new IngestReject("b.csv.gz", 2, b[1], "PESO: not a number 'abc'"));
    p.run().waitUntilFinish();
  }

  @Test
  public void headerWithoutRequiredColumnsYieldsOnlyAFileError() throws Exception {
    Path f = tmp.getRoot().toPath().resolve("bad.csv");
    Files.writeString(f, "A;B\n1;2\n", StandardCharsets.ISO_8859_1);
    ParseSinascFiles.Spec spec = new ParseSinascFiles.Spec("s.silver", "s.bronze", "s.files", "ISO-8859-1",
        Map.of("bad.csv", 1L), Map.of("bad.csv", "0".repeat(64)));
    PCollectionTuple out = p.apply(FileIO.match().filepattern(f.toString()))
        .apply(FileIO.readMatches()).apply(ParseSinascFiles.with(spec));
    PAssert.that(out.get(ParseSinascFiles.REJECTS)).empty();
    PAssert.that(rows(out, "s.silver")).empty();
    PAssert.that(rows(out, "s.files")).satisfies(it -> {
      String s = it.iterator().next();
      assertThat(s, org.hamcrest.Matchers.containsString("header lacks column(s) CODMUNRES, DTNASC"));
      return null;
    });
    p.run().waitUntilFinish();
  }

  private static PCollection<String> rows(PCollectionTuple out, String table) {
    return out.get(ParseSinascFiles.ROWS)
        .apply("Only " + table, Filter.by((KV<String, String> kv) -> kv.getKey().equals(table)))
        .apply("Lines " + table, FlatMapElements.into(TypeDescriptors.strings())
            .via((KV<String, String> kv) -> Arrays.asList(kv.getValue().split("\n"))));
  }
}
