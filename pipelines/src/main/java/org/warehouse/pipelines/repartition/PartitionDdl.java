package org.warehouse.pipelines.repartition;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/** The SQL a {@link RepartitionPlan} runs on the database: the new table, its keys, the swap. Builds text only. */
public final class PartitionDdl {
  private final RepartitionPlan plan;
  private final TableShape shape;

  public PartitionDdl(RepartitionPlan plan) {
    this.plan = plan;
    this.shape = plan.shape();
  }

  /** The staging parent and its partitions (no keys or indexes yet: they are built after the copy). */
  public List<String> createSql() {
    TableRef staging = plan.staging();
    List<String> out = new ArrayList<>();
    out.add("CREATE TABLE " + staging.quoted() + " (LIKE " + plan.table().quoted() + " INCLUDING DEFAULTS INCLUDING "
        + "CONSTRAINTS INCLUDING GENERATED INCLUDING COMMENTS INCLUDING STORAGE INCLUDING COMPRESSION) "
        + "PARTITION BY RANGE (" + Sql.quoteIdent(plan.column()) + ")"
        + (shape.tablespace() == null ? "" : " TABLESPACE " + Sql.quoteIdent(shape.tablespace()))); // partitions follow
    if (shape.comment() != null) {
      out.add("COMMENT ON TABLE " + staging.quoted() + " IS " + Sql.literal(shape.comment()));
    }
    for (LocalDate m : plan.months()) {
      out.add("CREATE TABLE " + plan.partition(m).quoted() + " PARTITION OF " + staging.quoted() + " FOR VALUES FROM ("
          + shape.kind().bound(m) + ") TO (" + shape.kind().bound(m.plusMonths(1)) + ")");
    }
    out.add("CREATE TABLE " + plan.defaultPartition().quoted() + " PARTITION OF " + staging.quoted() + " DEFAULT");
    return out;
  }

  /** Owner change of the new table and its partitions, when the run's user is not the original's owner. */
  public List<String> ownerSql(String currentUser) {
    List<String> out = new ArrayList<>();
    if (shape.owner().equals(currentUser)) {
      return out;
    }
    String owner = Sql.quoteIdent(shape.owner());
    out.add("ALTER TABLE " + plan.staging().quoted() + " OWNER TO " + owner);
    for (LocalDate m : plan.months()) {
      out.add("ALTER TABLE " + plan.partition(m).quoted() + " OWNER TO " + owner);
    }
    out.add("ALTER TABLE " + plan.defaultPartition().quoted() + " OWNER TO " + owner);
    return out;
  }

  /** Keys, indexes, foreign keys and grants of the staging table, under temporary index names. */
  public List<String> keySql() {
    String staging = plan.staging().quoted();
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, String> e : temporaryIndexNames().entrySet()) {
      UniqueKey key = shape.keys().stream().filter(k -> k.name().equals(e.getValue())).findFirst().orElse(null);
      String name = Sql.quoteIdent(e.getKey());
      if (key == null) {
        out.add("CREATE INDEX " + name + " ON " + staging + " " + shape.indexes().get(e.getValue()));
      } else if (key.constraint()) {
        out.add("ALTER TABLE " + staging + " ADD CONSTRAINT " + name + (key.primary() ? " PRIMARY KEY (" : " UNIQUE (")
            + Sql.quoteColumns(key.columns()) + ")");
      } else {
        out.add("CREATE UNIQUE INDEX " + name + " ON " + staging + " (" + Sql.quoteColumns(key.columns()) + ")");
      }
    }
    for (Map.Entry<String, String> fk : shape.foreignKeys().entrySet()) {
      out.add("ALTER TABLE " + staging + " ADD CONSTRAINT " + Sql.quoteIdent(fk.getKey()) + " " + fk.getValue());
    }
    for (String g : shape.grants()) {
      out.add(g.replace("{table}", staging));
    }
    return out;
  }

  /** Temporary name → final (the original's) name of every index of the new table. */
  public Map<String, String> temporaryIndexNames() {
    Map<String, String> m = new LinkedHashMap<>();
    int k = 0;
    for (UniqueKey key : shape.keys()) {
      m.put(temporaryName(key.name(), k++), key.name());
    }
    for (String name : shape.indexes().keySet()) {
      m.put(temporaryName(name, k++), name);
    }
    return m;
  }

  private static String temporaryName(String name, int k) {
    String suffix = "__r" + k;
    return (name.length() + suffix.length() > 63 ? name.substring(0, 63 - suffix.length()) : name) + suffix;
  }

  /**
   * The swap, to run in the transaction that holds the original's lock: the original becomes the
   * backup (its indexes get {@link RepartitionPlan#BACKUP_INDEX_SUFFIX}), the staging table takes its
   * name and its indexes the original names; sequences owned by the original's columns move to the new
   * table. Online: the capture trigger, its function and the change log go first.
   */
  public List<String> swapSql() {
    TableRef table = plan.table();
    List<String> out = new ArrayList<>();
    if (plan.online()) {
      out.addAll(ChangeCapture.dropSql(plan));
    }
    out.add("ALTER TABLE " + table.quoted() + " RENAME TO " + Sql.quoteIdent(plan.backup().name()));
    for (String name : temporaryIndexNames().values()) {
      out.add("ALTER INDEX " + table.withName(name).quoted() + " RENAME TO "
          + Sql.quoteIdent(name + RepartitionPlan.BACKUP_INDEX_SUFFIX));
    }
    out.add("ALTER TABLE " + plan.staging().quoted() + " RENAME TO " + Sql.quoteIdent(table.name()));
    for (Map.Entry<String, String> e : temporaryIndexNames().entrySet()) {
      out.add("ALTER INDEX " + table.withName(e.getKey()).quoted() + " RENAME TO " + Sql.quoteIdent(e.getValue()));
    }
    for (Map.Entry<String, String> s : shape.ownedSequences().entrySet()) {
      out.add("ALTER SEQUENCE " + s.getKey() + " OWNED BY " + table.quoted() + "." + Sql.quoteIdent(s.getValue()));
    }
    return out;
  }
}
