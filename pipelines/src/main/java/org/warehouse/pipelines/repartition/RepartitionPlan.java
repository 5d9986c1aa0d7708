package org.warehouse.pipelines.repartition;

import java.time.LocalDate;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * What {@code scripts/run repartition} will do to one table: the table's shape (from the catalog), the
 * months that get a partition, the mode and the names of everything the run creates. A value: it
 * executes nothing (the catalog is read by {@link CatalogReader}).
 */
public final class RepartitionPlan {
  /** Suffix of the original table once replaced; {@code *_backup} is also what promote never copies. */
  public static final String BACKUP_SUFFIX = "_unpartitioned_backup";
  /** Suffix of the original's index names while it is the backup (stripped again by --rollback). */
  public static final String BACKUP_INDEX_SUFFIX = "__b";
  /** Suffix of the online mode's capture trigger (and its function): never a user's trigger. */
  public static final String CAPTURE_SUFFIX = "__repartition_capture";
  /** Kinds of the work tables: the new table, the copy's ledger, the change log (see {@link Staging}). */
  public static final List<String> WORK_KINDS = List.of("repartition", "repartition_ranges", "repartition_log");
  /** More months than this is almost always a wrong date in the data. */
  public static final int MAX_MONTHS = 1200;
  /**
   * The new copy needs the table's heap, TOAST and indexes once more, plus this much: its unique keys are
   * one column wider, the online mode adds the change log and the copy's ledger, and the index builds
   * spill sort files. Not more: the copy is packed while the original often carries dead rows, so a
   * larger margin would refuse runs that fit.
   */
  public static final int DISK_MARGIN_PERCENT = 10;
  private static final DateTimeFormatter PARTITION_SUFFIX = DateTimeFormatter.ofPattern("'_p'yyyy'_'MM", Locale.ROOT);

  /** The first and the last month holding rows. */
  public record MonthSpan(LocalDate first, LocalDate last) {}

  private final TableShape shape;
  private final MonthSpan span;
  private final int monthsAhead;
  private final boolean online;
  private final String runId;
  private final FreeSpace free;

  public RepartitionPlan(TableShape shape, MonthSpan span, int monthsAhead, boolean online, String runId,
      FreeSpace free) {
    this.shape = shape;
    this.free = free;
    this.span = span;
    this.monthsAhead = monthsAhead;
    this.online = online;
    this.runId = runId;
    months(); // refuses an absurd span before anything happens
    if (online && shape.rowKey() == null) {
      throw new WarehouseException("table " + shape.table() + " has no primary key and no unique key on NOT NULL "
          + "columns: the online mode needs one to follow the rows written during the copy; add one, or run with "
          + "--offline=true (writers then wait for the whole run); nothing changed");
    }
  }

  /** Bytes the new copy will add: the table's heap, TOAST and indexes plus {@link #DISK_MARGIN_PERCENT}. */
  public static long neededBytes(TableShape shape) {
    return shape.totalBytes() + (shape.totalBytes() * DISK_MARGIN_PERCENT + 99) / 100;
  }

  /**
   * Refuses, before anything changes, a table whose copy needs more than the free space measured where
   * it will live; goes on when the space was not measured.
   */
  public static void refuseWithoutRoom(TableShape shape, FreeSpace free) {
    long needed = neededBytes(shape);
    if (free.checked() && free.available() < needed) {
      throw new WarehouseException("table " + shape.table() + " needs about " + FreeSpace.size(needed)
          + " for its partitioned copy; " + free.describe() + ". Free space or run with --checkDiskSpace=false if "
          + "the figure is wrong; nothing changed");
    }
  }

  /** The table's backup name once replaced. */
  public static TableRef backupOf(TableRef t) {
    return t.withSuffix(BACKUP_SUFFIX);
  }

  /** Name of the capture trigger on {@code t} and of its function (same schema). */
  public static String captureOf(TableRef t) {
    return t.name() + CAPTURE_SUFFIX;
  }

  /** Name of the capture's TRUNCATE trigger on {@code t} (same function as {@link #captureOf}). */
  public static String truncateCaptureOf(TableRef t) {
    return captureOf(t) + "_truncate";
  }

  public TableShape shape() {
    return shape;
  }

  public TableRef table() {
    return shape.table();
  }

  public String column() {
    return shape.column();
  }

  public boolean online() {
    return online;
  }

  public int monthsAhead() {
    return monthsAhead;
  }

  public MonthSpan span() {
    return span;
  }

  public FreeSpace freeSpace() {
    return free;
  }

  /** The copy's need against the free space, in words, for the plan. */
  public String diskSpace() {
    return "needs about " + FreeSpace.size(neededBytes(shape)) + " (the table, its TOAST and indexes: "
        + FreeSpace.size(shape.totalBytes()) + ", + " + DISK_MARGIN_PERCENT + "%); " + free.describe();
  }

  public TableRef backup() {
    return backupOf(table());
  }

  /** The partitioned table while it is being built. */
  public TableRef staging() {
    return Staging.name(table(), WORK_KINDS.get(0), runId);
  }

  /** The copy's ledger of committed ranges. */
  public TableRef ledger() {
    return Staging.name(table(), WORK_KINDS.get(1), runId);
  }

  /** The online mode's change log: keys of rows written since the capture began. */
  public TableRef changeLog() {
    return Staging.name(table(), WORK_KINDS.get(2), runId);
  }

  /** The capture trigger's function, schema-qualified and quoted. */
  public String captureFunction() {
    return Sql.quoteIdent(table().schema()) + "." + Sql.quoteIdent(captureOf(table()));
  }

  public String quotedColumns() {
    return Sql.quoteColumns(shape.columns());
  }

  /** The months that get a partition: first..last month with rows, then {@code monthsAhead} more. */
  public List<LocalDate> months() {
    List<LocalDate> out = new ArrayList<>();
    LocalDate end = span.last().plusMonths(monthsAhead);
    for (LocalDate m = span.first(); !m.isAfter(end); m = m.plusMonths(1)) {
      out.add(m);
      if (out.size() > MAX_MONTHS) {
        throw new WarehouseException("table " + table() + ": " + column() + " spans " + span.first() + " to "
            + span.last() + ", more than " + MAX_MONTHS + " monthly partitions: check the column for wrong dates; "
            + "nothing changed");
      }
    }
    return out;
  }

  public TableRef partition(LocalDate month) {
    return table().withSuffix(month.format(PARTITION_SUFFIX));
  }

  public TableRef defaultPartition() {
    return table().withSuffix("_pdefault");
  }

  /** The partition that receives rows of {@code month} (null: NULL) — the default one outside the months. */
  public String partitionOf(LocalDate month) {
    return month != null && !month.isBefore(span.first()) && !month.isAfter(span.last().plusMonths(monthsAhead))
        ? partition(month).name() : defaultPartition().name();
  }

  /** The SQL expression giving a row's month (a date, NULL for NULL) of the partition column. */
  public String monthOf(String alias) {
    return shape.kind().month(alias + "." + Sql.quoteIdent(column()));
  }

  /** {@code alias.col >= 'month' AND alias.col < 'next month'}: a query on one month (pruning check). */
  public String oneMonth(LocalDate month) {
    String col = Sql.quoteIdent(column());
    return col + " >= " + shape.kind().bound(month) + " AND " + col + " < " + shape.kind().bound(month.plusMonths(1));
  }

  public long estimatedRows() {
    return shape.estimatedRows();
  }

  /** The catalog's row estimate, in words (a table never analyzed has none). */
  public String estimate() {
    return estimatedRows() > 0 ? "~" + String.format(Locale.ROOT, "%,d", estimatedRows()) + " rows (catalog estimate)"
        : "the table's rows (no estimate: never analyzed)";
  }

  /** One line per key whose columns change, for the plan. */
  public List<String> keyChanges() {
    List<String> out = new ArrayList<>();
    for (UniqueKey k : shape.keys()) {
      if (k.widened()) {
        out.add((k.primary() ? "PRIMARY KEY " : "UNIQUE ") + k.name() + " (" + String.join(", ", k.originalColumns())
            + ") becomes (" + String.join(", ", k.columns()) + "): every unique key of a partitioned table must "
            + "include " + column());
      }
    }
    return out;
  }
}
