package org.warehouse.transforms.datasus;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.warehouse.transforms.births.SyntheticBirths;
import org.warehouse.transforms.ingest.SinascCsvWriter;

/**
 * Command-line tool behind {@code scripts/bench-dbc}:
 *
 * <pre>
 * DbcTool generate --out=DIR --mb=N [--seed=S]   one SINASC-like .dbc whose .dbf is at least N MB
 * DbcTool decode [--repeat=N] FILE...            decodes each file (N times; the best time counts)
 * </pre>
 *
 * decode prints, per file, the throughput of the decompression alone ({@link DbcInputStream} read to
 * the end) and of {@link DbfReader} reading every record and the nine fields ingest types, in MB of .dbf
 * per second of wall time and per second of the thread's CPU time (steadier on a busy machine); then
 * the peak heap and peak resident set size of the JVM. Exit codes: 0 ok, 1 a file
 * failed (one line on stderr), 2 usage.
 */
public final class DbcTool {
  private static final List<String> INGEST_FIELDS =
      List.of("CODMUNRES", "DTNASC", "SEXO", "PESO", "SEMAGESTAC", "IDADEMAE", "PARTO", "CONSPRENAT", "CODESTAB");

  private DbcTool() {}

  public static void main(String[] args) {
    int rc;
    try {
      rc = run(args);
    } catch (DbcFormatException e) {
      System.err.println("DbcTool: " + e.getMessage());
      rc = 1;
    } catch (IOException | RuntimeException e) {
      System.err.println("DbcTool: " + e);
      rc = 1;
    }
    System.exit(rc);
  }

  static int run(String[] args) throws IOException {
    if (args.length == 0) {
      return usage("no verb");
    }
    String out = null;
    long mb = 0;
    long seed = 1;
    int repeat = 1;
    List<Path> files = new ArrayList<>();
    for (int i = 1; i < args.length; i++) {
      String a = args[i];
      try {
        if (a.startsWith("--out=")) {
          out = a.substring(6);
        } else if (a.startsWith("--mb=")) {
          mb = Long.parseLong(a.substring(5));
        } else if (a.startsWith("--seed=")) {
          seed = Long.parseLong(a.substring(7));
        } else if (a.startsWith("--repeat=")) {
          repeat = Integer.parseInt(a.substring(9));
        } else if (a.startsWith("--")) {
          return usage("unknown option " + a);
        } else {
          files.add(Path.of(a));
        }
      } catch (NumberFormatException e) {
        return usage("not a number in " + a);
      }
    }
    switch (args[0]) {
      case "generate":
        if (out == null || mb < 1) {
          return usage("generate needs --out=DIR and --mb=N (N >= 1)");
        }
        generate(Path.of(out), mb, seed);
        return 0;
      case "decode":
        if (files.isEmpty() || repeat < 1) {
          return usage("decode needs at least one file (and --repeat >= 1)");
        }
        for (Path f : files) {
          decode(f, repeat);
        }
        System.out.println(memory());
        return 0;
      default:
        return usage("unknown verb " + args[0]);
    }
  }

  private static int usage(String why) {
    System.err.println("DbcTool: " + why + "\nusage: DbcTool generate --out=DIR --mb=N [--seed=S]\n"
        + "       DbcTool decode [--repeat=N] FILE...");
    return 2;
  }

  private static void generate(Path dir, long mb, long seed) throws IOException {
    Files.createDirectories(dir);
    int[] codes = new int[5570];
    for (int i = 0; i < codes.length; i++) {
      codes[i] = 110001 + i * 76; // six-digit codes spread like IBGE's 11xxxx..53xxxx
    }
    long births = (mb * 1_000_000 + 223) / 224; // 224-byte records
    SinascCsvWriter w = new SinascCsvWriter(new SyntheticBirths(codes, seed), Map.of(), births, 1, 0, seed,
        StandardCharsets.ISO_8859_1, false, false, SinascCsvWriter.Format.DBC);
    long t0 = System.nanoTime();
    SinascCsvWriter.FileResult r = w.write(dir, 0);
    double s = (System.nanoTime() - t0) / 1e9;
    System.out.printf(Locale.ROOT, "generate %s: %d records, .dbf %.1f MB, .dbc %.1f MB, %.1f s%n", r.path,
        r.lines, (1985 + r.lines * 224) / 1e6, Files.size(r.path) / 1e6, s);
  }

  /** Wall and CPU nanoseconds of one timed piece of work; the best of several. */
  private static final class Timing {
    long wall = Long.MAX_VALUE;
    long cpu = Long.MAX_VALUE;
    private long wall0;
    private long cpu0;

    void start() {
      wall0 = System.nanoTime();
      cpu0 = THREADS.getCurrentThreadCpuTime();
    }

    void stop() {
      wall = Math.min(wall, System.nanoTime() - wall0);
      cpu = Math.min(cpu, THREADS.getCurrentThreadCpuTime() - cpu0);
    }

    String rate(long bytes) {
      return String.format(Locale.ROOT, "%.0f MB/s (%.0f MB per CPU-second)", bytes / 1e6 / (wall / 1e9),
          bytes / 1e6 / (cpu / 1e9));
    }
  }

  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

  private static void decode(Path f, int repeat) throws IOException {
    boolean dbc = f.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".dbc");
    Timing stream = new Timing();
    Timing reader = new Timing();
    long dbfBytes = 0;
    long records = 0;
    long values = 0;
    byte[] buf = new byte[1 << 16];
    for (int k = 0; k < repeat; k++) {
      if (dbc) {
        stream.start();
        try (InputStream in = DbcInputStream.open(f)) {
          while (in.read(buf, 0, buf.length) >= 0) {
            continue;
          }
        }
        stream.stop();
      }
      reader.start();
      try (DbfReader r = DbfReader.open(f, null)) {
        int[] idx = INGEST_FIELDS.stream().mapToInt(r::fieldIndex).filter(i -> i >= 0).toArray();
        records = 0;
        values = 0;
        while (r.next()) {
          records++;
          for (int i : idx) {
            if (r.field(i) != null) {
              values++;
            }
          }
        }
        dbfBytes = r.headerLength() + r.declaredRecords() * r.recordLength();
      }
      reader.stop();
    }
    System.out.printf(Locale.ROOT, "decode %s: .dbf %.1f MB, %d records, %d values%n", f.getFileName(),
        dbfBytes / 1e6, records, values);
    if (dbc) {
      System.out.println("  decompression (DbcInputStream, CRC32 included): " + stream.rate(dbfBytes));
    }
    System.out.println("  DbfReader, every record and " + INGEST_FIELDS.size() + " fields: " + reader.rate(dbfBytes)
        + String.format(Locale.ROOT, ", %.0f records per CPU-second", records / (reader.cpu / 1e9)));
  }

  private static String memory() throws IOException {
    long peakHeap = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        peakHeap += p.getPeakUsage().getUsed();
      }
    }
    String rss = "?";
    Path status = Path.of("/proc/self/status");
    if (Files.isReadable(status)) {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith("VmHWM:")) {
          rss = line.substring(6).trim();
        }
      }
    }
    return String.format(Locale.ROOT, "memory: peak heap %.1f MB (max %.0f MB), peak RSS %s", peakHeap / 1e6,
        Runtime.getRuntime().maxMemory() / 1e6, rss);
  }
}
