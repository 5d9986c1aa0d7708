package org.warehouse.pipelines.promote;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.promote.targetdb.TargetTable;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.jdbc.WarehouseException;
import org.warehouse.transforms.tablecopy.CtidRanges;
import org.warehouse.transforms.tablecopy.ReadTableRanges;
import org.warehouse.transforms.tablecopy.TableRange;

/**
 * What {@code scripts/run promote} will copy, decided from the source's table list and the options:
 * which tables (globs), their categories, the order, what each one needs given what the target holds,
 * and the ctid ranges the copy reads. Executes nothing.
 */
public final class PromotePlan {
  /** Names holding this are promote's own work tables ({@code <table>__staging_<run id>}): never copied. */
  static final String STAGING_MARK = "__staging";

  /** One ordinary table of the source schema, as its catalog lists it. */
  public record SourceTable(String name, long pages, long estimatedRows) {}

  /** A selected table: its names on both sides, category and size (for splitting it into ranges). */
  public record Table(TableRef source, TableRef target, Category category, long pages, long estimatedRows) {}

  /** A table the run copies: its source definition and this run's staging table on the target. */
  public record Copy(Table table, TableDefinition definition, TableRef staging) {}

  /** {@code --schema}, {@code --include} and {@code --exclude}, checked before anything connects. */
  public record Selection(String schema, String include, String exclude, List<Pattern> includes,
      List<Pattern> excludes) {
    public static Selection of(String schema, String include, String exclude) {
      List<Pattern> in = globs(include);
      if (in.isEmpty()) {
        throw new UsageException("--include is empty: give table globs such as dim_*,agg_*");
      }
      return new Selection(Sql.requireIdent("--schema", schema), include, exclude, in, globs(exclude));
    }

    /** The plan for a source whose schema holds {@code catalog}; {@code source} names it in messages. */
    public PromotePlan apply(List<SourceTable> catalog, String source) {
      return select(this, catalog, source);
    }
  }

  private final List<Table> tables;
  private final Map<Category, List<String>> selected;
  private final Map<Category, List<String>> excluded;

  private PromotePlan(List<Table> tables, Map<Category, List<String>> selected,
      Map<Category, List<String>> excluded) {
    this.tables = List.copyOf(tables);
    this.selected = selected;
    this.excluded = excluded;
  }

  /** The selected tables: dimensions first, then aggregates, others, facts; by name within each. */
  public List<Table> tables() {
    return tables;
  }

  static PromotePlan select(Selection s, List<SourceTable> catalog, String source) {
    Map<Category, List<String>> chosen = new EnumMap<>(Category.class);
    Map<Category, List<String>> left = new EnumMap<>(Category.class);
    List<Table> tables = new ArrayList<>();
    List<SourceTable> byName = new ArrayList<>(catalog);
    byName.sort(Comparator.comparing(SourceTable::name));
    for (SourceTable t : byName) {
      String name = t.name();
      if (name.contains(STAGING_MARK)) {
        continue;
      }
      Category cat = Category.of(name);
      boolean included = matchesAny(s.includes(), name);
      if (included && !matchesAny(s.excludes(), name)) {
        TableRef ref = ref(s.schema(), name);
        tables.add(new Table(ref, ref, cat, t.pages(), t.estimatedRows()));
        chosen.computeIfAbsent(cat, x -> new ArrayList<>()).add(name);
      } else if (cat != Category.OTHER || included) {
        left.computeIfAbsent(cat, x -> new ArrayList<>()).add(name);
      }
    }
    if (tables.isEmpty()) {
      throw new WarehouseException("no table in schema " + s.schema() + " of " + source + " matches --include="
          + s.include() + " without matching --exclude=" + s.exclude() + " (" + catalog.size()
          + " tables there): check --include, --exclude and --schema");
    }
    tables.sort(Comparator.comparingInt((Table t) -> t.category().promoteOrder())
        .thenComparing(t -> t.source().name()));
    return new PromotePlan(tables, chosen, left);
  }

  private static TableRef ref(String schema, String name) {
    try {
      return TableRef.of(schema, name);
    } catch (IllegalArgumentException e) {
      throw new WarehouseException("table " + schema + "." + name + " cannot be promoted: " + e.getMessage()
          + "; rename it or exclude it with --exclude");
    }
  }

  /** The table list as printed: selected and excluded tables per category (excluded facts first). */
  public List<String> describe() {
    List<String> out = new ArrayList<>();
    out.add("Found " + tables.size() + " tables to promote:");
    for (Category cat : Category.values()) {
      List<String> in = selected.getOrDefault(cat, List.of());
      List<String> left = excluded.getOrDefault(cat, List.of());
      if (!left.isEmpty() && cat == Category.FACT) {
        out.add(line(cat, left, ", excluded"));
      }
      if (!in.isEmpty()) {
        out.add(line(cat, in, ""));
      }
      if (!left.isEmpty() && cat != Category.FACT) {
        out.add(line(cat, left, ", excluded"));
      }
    }
    return out;
  }

  private static String line(Category cat, List<String> names, String note) {
    return "  " + cat.label() + " tables (" + names.size() + note + "): " + String.join(", ", names);
  }

  /**
   * What the run does with a table, given what the target holds ({@code sameChecksum}: the target's
   * table has the source's checksum; only computed when its columns are the same).
   */
  public static Action decide(TargetTable target, boolean sameChecksum) {
    if (!target.exists()) {
      return Action.CREATE;
    }
    if (target.sameColumns()) {
      return sameChecksum ? Action.UNCHANGED : Action.REPLACE;
    }
    return target.hasDependents() ? Action.BLOCKED : Action.REPLACE;
  }

  /** Why a {@link Action#BLOCKED} table stops the run, and what to do. */
  public static String blockedReason(Table table, TargetTable target, TableDefinition source) {
    return "table " + table.target() + " on the target has dependent views, foreign keys or grants and its "
        + "columns differ from the source (target " + target.columns() + ", source " + source.columnTypes()
        + "): drop or adapt the dependent objects, then re-run; production unchanged";
  }

  /** Every copied table split into ctid page ranges of about {@code rowsPerRange} rows. */
  public static List<TableRange> ranges(List<Copy> copies, ReadTableRanges.Mode mode, long rowsPerRange) {
    List<TableRange> out = new ArrayList<>();
    for (Copy c : copies) {
      out.addAll(CtidRanges.split(c.staging().schema() + "." + c.staging().name(),
          ReadTableRanges.selectList(mode, c.definition().copyColumns()), c.table().source().quoted(),
          c.table().pages(), c.table().estimatedRows(), rowsPerRange));
    }
    return out;
  }

  /** Comma-separated globs ({@code *} any run of characters, {@code ?} one); blanks ignored. */
  static List<Pattern> globs(String list) {
    List<Pattern> out = new ArrayList<>();
    if (list == null) {
      return out;
    }
    for (String g : list.split(",")) {
      String s = g.strip();
      if (!s.isEmpty()) {
        out.add(glob(s));
      }
    }
    return out;
  }

  static Pattern glob(String g) {
    StringBuilder re = new StringBuilder();
    for (char ch : g.toCharArray()) {
      if (ch == '*') {
        re.append(".*");
      } else if (ch == '?') {
        re.append('.');
      } else {
        re.append(Pattern.quote(String.valueOf(ch)));
      }
    }
    return Pattern.compile(re.toString());
  }

  private static boolean matchesAny(List<Pattern> globs, String name) {
    for (Pattern p : globs) {
      if (p.matcher(name).matches()) {
        return true;
      }
    }
    return false;
  }
}
