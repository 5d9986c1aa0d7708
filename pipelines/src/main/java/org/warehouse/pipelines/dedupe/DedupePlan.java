package org.warehouse.pipelines.dedupe;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.warehouse.pipelines.common.LockTimeoutOptions;
import org.warehouse.pipelines.common.Staging;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.common.Validate;
import org.warehouse.pipelines.dedupe.DedupeCatalog.TableFacts;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * What one {@code scripts/run dedupe} will do, decided from the options and the catalog before anything
 * changes: the mode, each table's action and work-table names (per run), and the read settings. Building
 * it executes nothing; every refusal (bad options: exit 2; a table it must not touch: exit 1) happens here.
 */
record DedupePlan(Mode mode, List<TablePlan> tables, int partitions, boolean partialInDatabase,
    int lockTimeoutSeconds, boolean vacuumFull) {

  /** What the run does as a whole. */
  enum Mode { DEDUPE, DRY_RUN, ROLLBACK }

  /** What the run does to one table. */
  enum TableAction {
    /** The natural key's UNIQUE constraint exists: there can be no duplicates; nothing is touched. */
    ALREADY_UNIQUE,
    /** Read, pick the survivors, back up, replace the contents, add the constraint. */
    DEDUPE
  }

  /** Work-table kinds, as in {@code <table>__dedupe_keep_<run id>}. */
  static final String KEEP_KIND = "dedupe_keep";
  static final String COPY_KIND = "dedupe_copy";

  /**
   * One table's part of the plan.
   *
   * @param keepTable work table: the ids of the survivors the pipeline chose
   * @param copyTable work table: the backup being written during the run; the publish renames it to
   *     {@link DedupeTarget#backupTable}
   * @param idUnique a unique index guarantees unique ids (else the run counts duplicate ids first)
   */
  record TablePlan(DedupeTarget target, TableAction action, TableRef keepTable, TableRef copyTable, boolean idUnique) {
    TableRef table() {
      return target.table();
    }
  }

  /** The tables selected by {@code --config} or {@code --table}; option errors are usage errors (exit 2). */
  static List<DedupeTarget> targets(DedupePipeline.DedupeOptions o) {
    boolean hasConfig = o.getConfig() != null && !o.getConfig().isBlank();
    boolean hasTable = o.getTable() != null && !o.getTable().isBlank();
    if (hasConfig == hasTable) {
      throw new UsageException("give either --config=FILE or --table=schema.table --naturalKey=col1,col2");
    }
    if (o.getDryRun() && o.getRollback()) {
      throw new UsageException("--dryRun and --rollback exclude each other");
    }
    LockTimeoutOptions.validate(o);
    Validate.atLeast("partitions", o.getPartitions(), 0);
    if (hasConfig) {
      return DedupeTarget.parseFile(Path.of(o.getConfig()), o.getSchema());
    }
    if (o.getNaturalKey() == null || o.getNaturalKey().isBlank()) {
      throw new UsageException("--table needs --naturalKey=col1,col2");
    }
    return List.of(DedupeTarget.of(o.getTable(), o.getNaturalKey(), o.getLatest(), o.getSchema()));
  }

  static Mode mode(DedupePipeline.DedupeOptions o) {
    return o.getRollback() ? Mode.ROLLBACK : o.getDryRun() ? Mode.DRY_RUN : Mode.DEDUPE;
  }

  /**
   * The plan for {@code targets} given their catalog {@code facts}; {@code cores} sizes the default
   * number of id ranges, {@code runId} names the work tables.
   */
  static DedupePlan of(DedupePipeline.DedupeOptions o, List<DedupeTarget> targets, Map<TableRef, TableFacts> facts,
      int cores, String runId) {
    Mode mode = mode(o);
    List<TablePlan> tables = new ArrayList<>();
    for (DedupeTarget t : targets) {
      TableFacts f = facts.get(t.table());
      requireIntegerId(t, f);
      TableAction action = f.constraintExists() ? TableAction.ALREADY_UNIQUE : TableAction.DEDUPE;
      if (mode == Mode.DEDUPE && action == TableAction.DEDUPE) {
        refuseUnsafe(t, f);
      }
      tables.add(new TablePlan(t, action, Staging.name(t.table(), KEEP_KIND, runId),
          Staging.name(t.table(), COPY_KIND, runId), f.idUnique()));
    }
    int partitions = o.getPartitions() > 0 ? o.getPartitions() : Math.max(4, 4 * cores);
    return new DedupePlan(mode, List.copyOf(tables), partitions, o.getPartialInDatabase(), o.getLockTimeoutSeconds(),
        o.getVacuumFull());
  }

  private static void requireIntegerId(DedupeTarget t, TableFacts f) {
    String idType = f.columns().get("id");
    if (!idType.equals("bigint") && !idType.equals("integer") && !idType.equals("smallint")) {
      throw new WarehouseException("table " + t.table() + ": column id is " + idType
          + ", dedupe needs an integer surrogate id (ties and the snapshot use it)");
    }
  }

  /**
   * A leftover backup without the constraint (an earlier run's result was half undone), or foreign keys
   * that would change the referencing rows when a referenced duplicate goes: refused before anything.
   */
  private static void refuseUnsafe(DedupeTarget t, TableFacts f) {
    if (f.backupExists()) {
      throw new WarehouseException("table " + t.table() + ": backup " + t.backupTable() + " of an earlier run exists "
          + "but the constraint " + t.constraintName() + " does not: run dedupe --rollback first, or drop the backup");
    }
    if (f.changingReferences() != null) {
      throw new WarehouseException("table " + t.table() + " is referenced by foreign key " + f.changingReferences()
          + " with ON DELETE CASCADE/SET NULL/SET DEFAULT: removing duplicates would change the referencing rows; "
          + "point them at the survivors and make the key NO ACTION, or drop it, then re-run (nothing changed)");
    }
  }

  /** The tables the pipeline reads (those without the constraint). */
  List<TablePlan> toRead() {
    return tables.stream().filter(t -> t.action() == TableAction.DEDUPE).toList();
  }
}
