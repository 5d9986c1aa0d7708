package org.warehouse.transforms.ingest;

import java.io.IOException;
import org.warehouse.transforms.births.BirthRecord;

/**
 * Writes one file's parsed records to its {@link SinascFileReader.Sink}: the raw fields of every record
 * that split into bronze rows (COPY text), typed records into fact rows (COPY binary), in ~1 MB chunks;
 * rejects as they come. Counts into the file's outcome and prints a progress line every
 * {@link #PROGRESS_EVERY} records (a big file takes minutes).
 */
final class RowWriter {
  static final long PROGRESS_EVERY = 1_000_000;

  private final SinascFileReader.Sink sink;
  private final String name;
  private final long fileId;
  private final boolean withBronze;
  private final SinascFileReader.Outcome o;
  private CopyBuffer silver = new CopyBuffer(SinascFileReader.CHUNK_BYTES + 4096);
  private CopyBuffer bronze;

  RowWriter(SinascFileReader.Sink sink, String name, long fileId, boolean withBronze, SinascFileReader.Outcome o) {
    this.sink = sink;
    this.name = name;
    this.fileId = fileId;
    this.withBronze = withBronze;
    this.o = o;
    this.bronze = withBronze ? new CopyBuffer(SinascFileReader.CHUNK_BYTES + 4096) : null;
  }

  /** Counts one more record numbered {@code number} (birth_id = file_id × 10^9 + number). */
  void count(long number, String what) {
    if (number >= SinascFileReader.ID_BASE) {
      throw new IllegalArgumentException(name + " has more than " + (SinascFileReader.ID_BASE - 1) + " " + what
          + ": split it");
    }
    if (++o.lines % PROGRESS_EVERY == 0) {
      System.out.printf("ingest: %s: %,d %s read%n", name, o.lines, what);
    }
  }

  /** Writes a parsed record (bronze when it split; a fact row when typed); false = the caller rejects it. */
  boolean write(SinascLineParser.Result r, long number) throws IOException {
    if (withBronze && r.split()) {
      bronze.number(fileId);
      bronze.ascii('\t');
      bronze.number(number);
      for (int i = 0; i < SinascLineParser.COLUMNS.size(); i++) {
        bronze.ascii('\t');
        r.appendRaw(bronze, i);
      }
      bronze.endTextRow();
      if (bronze.len >= SinascFileReader.CHUNK_BYTES) {
        bronze = sink.bronze(bronze);
      }
    }
    if (!r.ok()) {
      return false;
    }
    appendFactRow(silver, fileId * SinascFileReader.ID_BASE + number, r.typed);
    if (silver.len >= SinascFileReader.CHUNK_BYTES) {
      silver = sink.silver(silver);
    }
    o.typed++;
    return true;
  }

  void reject(long number, String raw, String reason) throws IOException {
    sink.reject(new IngestReject(name, number, raw, reason));
    o.rejected++;
  }

  /** Hands over the last, partly filled chunks. */
  void finish() throws IOException {
    if (withBronze && bronze.rows > 0) {
      sink.bronze(bronze);
    }
    if (silver.rows > 0) {
      sink.silver(silver);
    }
  }

  /**
   * One fact_births row in COPY binary, FactBirths.COLUMNS order: birth_id bigint, birth_date date,
   * residence_municipality_code int, cnes_code int, then eight smallints (sex, weight, weeks, age,
   * delivery, prenatal visits, gestation category, prenatal category).
   */
  static void appendFactRow(CopyBuffer b, long birthId, int[] t) {
    b.binaryRow(SinascFileReader.FACT_FIELDS);
    b.binaryBigint(birthId);
    b.binaryDate(t[0]);
    for (int i = 1; i < 3; i++) {
      if (t[i] == BirthRecord.NULL) {
        b.binaryNull();
      } else {
        b.binaryInt(t[i]);
      }
    }
    for (int i = 3; i < t.length; i++) {
      if (t[i] == BirthRecord.NULL) {
        b.binaryNull();
      } else {
        b.binarySmallint(t[i]);
      }
    }
  }
}
