package org.warehouse.pipelines.repartition;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * What depends on a table and must follow it to the table that takes its name: the views that read it
 * (views on those views read the views, which keep their OID: they need nothing), the foreign keys
 * that reference it, and its own triggers (the capture trigger excepted). Read from the catalog with
 * every name schema-qualified, so the statements bind to whatever table has the name when they run.
 */
final class Dependents {
  /** A view reading the table: replaced in place (same OID, owner, grants, comment) by the same query. */
  record View(String name, String definition, String options) {}

  /** A foreign key of another table referencing this one. */
  record ForeignKey(String table, String name, String definition) {}

  /** A user trigger of the table; {@code enabled} as in {@code pg_trigger.tgenabled}. */
  record Trigger(String name, String definition, String enabled) {}

  private final List<View> views;
  private final List<ForeignKey> foreignKeys;
  private final List<Trigger> triggers;
  private final String printedName;

  private Dependents(List<View> views, List<ForeignKey> foreignKeys, List<Trigger> triggers, String printedName) {
    this.printedName = printedName;
    this.views = views;
    this.foreignKeys = foreignKeys;
    this.triggers = triggers;
  }

  /** Reads them (with {@code search_path = pg_catalog} meanwhile: every name comes out qualified). */
  static Dependents read(Connection c, TableRef t) throws SQLException {
    String searchPath = Db.queryString(c, "SELECT current_setting('search_path')");
    Db.execute(c, "SET search_path = pg_catalog");
    try {
      String oid = "to_regclass(" + Sql.literal(t.quoted()) + ")";
      List<View> views = new ArrayList<>();
      for (List<String> r : rows(c, "SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid), "
          + "coalesce(array_to_string(v.reloptions, ', '), '') FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid "
          + "JOIN pg_class v ON v.oid = w.ev_class WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = " + oid
          + " AND v.oid <> d.refobjid AND v.relkind = 'v' ORDER BY 1", 3)) {
        views.add(new View(r.get(0), r.get(1), r.get(2)));
      }
      List<ForeignKey> fks = new ArrayList<>();
      for (List<String> r : rows(c, "SELECT conrelid::regclass::text, quote_ident(conname), pg_get_constraintdef(oid) "
          + "FROM pg_constraint WHERE contype = 'f' AND confrelid = " + oid + " ORDER BY 1, 2", 3)) {
        fks.add(new ForeignKey(r.get(0), r.get(1), r.get(2)));
      }
      List<Trigger> triggers = new ArrayList<>();
      for (List<String> r : rows(c, "SELECT quote_ident(tgname), pg_get_triggerdef(oid), tgenabled::text FROM pg_trigger "
          + "WHERE tgrelid = " + oid + " AND NOT tgisinternal AND tgname NOT IN (" + Sql.literal(RepartitionPlan.captureOf(t))
          + ", " + Sql.literal(RepartitionPlan.truncateCaptureOf(t)) + ") ORDER BY tgname", 3)) {
        triggers.add(new Trigger(r.get(0), r.get(1), r.get(2)));
      }
      return new Dependents(views, fks, triggers, Db.queryString(c, "SELECT " + oid + "::text"));
    } finally {
      Db.execute(c, "SET search_path = " + searchPath);
    }
  }

  boolean isEmpty() {
    return views.isEmpty() && foreignKeys.isEmpty() && triggers.isEmpty();
  }

  /** A line for the plan and the summary. */
  String describe() {
    List<String> out = new ArrayList<>();
    views.forEach(v -> out.add("view " + v.name()));
    foreignKeys.forEach(f -> out.add("foreign key " + f.name() + " on " + f.table()));
    triggers.forEach(t -> out.add("trigger " + t.name()));
    return String.join(", ", out);
  }

  /** The table's triggers, created on {@code target} (the new table, before it takes the name). */
  List<String> triggersOn(TableRef target) {
    String on = " ON " + printedName + " ";
    List<String> out = new ArrayList<>();
    for (Trigger t : triggers) {
      int at = t.definition().indexOf(on);
      out.add(t.definition().substring(0, at) + " ON " + target.quoted() + " " + t.definition().substring(at + on.length()));
      switch (t.enabled()) {
        case "D" -> out.add("ALTER TABLE " + target.quoted() + " DISABLE TRIGGER " + t.name());
        case "R" -> out.add("ALTER TABLE " + target.quoted() + " ENABLE REPLICA TRIGGER " + t.name());
        case "A" -> out.add("ALTER TABLE " + target.quoted() + " ENABLE ALWAYS TRIGGER " + t.name());
        default -> { }
      }
    }
    return out;
  }

  /**
   * Once the table's name is the other table's: the views replaced by their own query (binding them
   * to the table now under the name), the foreign keys dropped and added again {@code NOT VALID}.
   */
  List<String> followSql() {
    List<String> out = new ArrayList<>();
    for (View v : views) {
      out.add("CREATE OR REPLACE VIEW " + v.name() + (v.options().isEmpty() ? "" : " WITH (" + v.options() + ")")
          + " AS " + v.definition());
    }
    for (ForeignKey f : foreignKeys) {
      out.add("ALTER TABLE " + f.table() + " DROP CONSTRAINT " + f.name());
      out.add("ALTER TABLE " + f.table() + " ADD CONSTRAINT " + f.name() + " " + f.definition() + " NOT VALID");
    }
    return out;
  }

  /** After the commit, outside the switch's lock: the foreign keys validated (writers go on meanwhile). */
  List<String> validateSql() {
    List<String> out = new ArrayList<>();
    for (ForeignKey f : foreignKeys) {
      out.add("ALTER TABLE " + f.table() + " VALIDATE CONSTRAINT " + f.name());
    }
    return out;
  }

  private static List<List<String>> rows(Connection c, String sql, int columns) throws SQLException {
    List<List<String>> out = new ArrayList<>();
    try (PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          row.add(rs.getString(i));
        }
        out.add(row);
      }
    }
    return out;
  }
}
