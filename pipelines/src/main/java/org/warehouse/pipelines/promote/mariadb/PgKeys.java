package org.warehouse.pipelines.promote.mariadb;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.warehouse.transforms.jdbc.TableDefinition;

/**
 * Turns PostgreSQL's key and index definitions ({@link TableDefinition#keyDefs()}) into MariaDB
 * keys. What MariaDB cannot hold the same way is left out with a note: exclusion constraints,
 * indexes on expressions, partial unique indexes (a full unique key would refuse rows the source
 * accepts), index methods other than B-tree and hash. A partial non-unique index becomes a full
 * index (same answers, a larger index). INCLUDE columns, operator classes, collations and NULLS
 * FIRST/LAST are dropped; DESC is kept.
 */
public final class PgKeys {
  private PgKeys() {}

  /** The keys MariaDB creates, and one note per key or index it does not (or changes). */
  public record Result(List<MariaDbKey> keys, List<String> notes) {}

  public static Result of(List<TableDefinition.KeyDef> defs) {
    List<MariaDbKey> keys = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    for (TableDefinition.KeyDef d : defs) {
      String def = d.definition();
      MariaDbKey.Kind kind;
      String list;
      switch (d.kind()) {
        case "PRIMARY KEY", "UNIQUE" -> {
          kind = d.kind().equals("PRIMARY KEY") ? MariaDbKey.Kind.PRIMARY : MariaDbKey.Kind.UNIQUE;
          list = group(def, def.indexOf('('));
        }
        case "INDEX", "UNIQUE INDEX" -> {
          kind = d.kind().equals("INDEX") ? MariaDbKey.Kind.INDEX : MariaDbKey.Kind.UNIQUE;
          String am = def.startsWith("USING ") ? def.substring(6, Math.max(6, def.indexOf(' ', 6))) : "";
          if (!am.equals("btree") && !am.equals("hash")) {
            notes.add("index " + d.name() + " left out (a " + am + " index)");
            continue;
          }
          list = group(def, def.indexOf('('));
          boolean partial = def.indexOf(" WHERE ", def.indexOf('(') + (list == null ? 0 : list.length())) >= 0;
          if (partial && kind == MariaDbKey.Kind.UNIQUE) {
            notes.add("index " + d.name() + " left out (a partial unique index)");
            continue;
          }
          if (partial) {
            notes.add("index " + d.name() + " is partial on the source: a full index on the target");
          }
        }
        default -> {
          notes.add("constraint " + d.name() + " left out (" + d.kind().toLowerCase(Locale.ROOT) + ")");
          continue;
        }
      }
      MariaDbKey key = list == null ? null : key(d.name(), kind, list);
      if (key == null) {
        notes.add("index " + d.name() + " left out (an index on an expression)");
      } else {
        keys.add(key);
      }
    }
    return new Result(keys, notes);
  }

  /** The text inside the parentheses opening at {@code open} (nested parentheses and quotes respected). */
  static String group(String s, int open) {
    if (open < 0) {
      return null;
    }
    int depth = 0;
    boolean quoted = false;
    for (int i = open; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '"') {
        quoted = !quoted;
      } else if (!quoted && ch == '(') {
        depth++;
      } else if (!quoted && ch == ')' && --depth == 0) {
        return s.substring(open + 1, i);
      }
    }
    return null;
  }

  /** A key of plain columns, or null when an element is an expression. */
  static MariaDbKey key(String name, MariaDbKey.Kind kind, String list) {
    List<String> cols = new ArrayList<>();
    List<Boolean> desc = new ArrayList<>();
    for (String element : splitTopLevel(list)) {
      String e = element.strip();
      String col;
      int rest;
      if (e.startsWith("\"")) {
        int end = 1;
        StringBuilder sb = new StringBuilder();
        while (end < e.length()) {
          char ch = e.charAt(end);
          if (ch == '"' && end + 1 < e.length() && e.charAt(end + 1) == '"') {
            sb.append('"');
            end += 2;
          } else if (ch == '"') {
            break;
          } else {
            sb.append(ch);
            end++;
          }
        }
        col = sb.toString();
        rest = end + 1;
      } else {
        int end = 0;
        while (end < e.length() && (Character.isLetterOrDigit(e.charAt(end)) || e.charAt(end) == '_' || e.charAt(end) == '$')) {
          end++;
        }
        col = e.substring(0, end);
        rest = end;
      }
      String tail = rest >= e.length() ? "" : e.substring(rest);
      if (col.isEmpty() || (!tail.isEmpty() && !tail.startsWith(" ")) || tail.contains("(")) {
        return null;
      }
      cols.add(col);
      desc.add(List.of(tail.strip().split("\\s+")).contains("DESC"));
    }
    return new MariaDbKey(name, kind, cols, desc);
  }

  private static List<String> splitTopLevel(String list) {
    List<String> out = new ArrayList<>();
    int depth = 0;
    boolean quoted = false;
    int from = 0;
    for (int i = 0; i < list.length(); i++) {
      char ch = list.charAt(i);
      if (ch == '"') {
        quoted = !quoted;
      } else if (!quoted && ch == '(') {
        depth++;
      } else if (!quoted && ch == ')') {
        depth--;
      } else if (!quoted && depth == 0 && ch == ',') {
        out.add(list.substring(from, i));
        from = i + 1;
      }
    }
    out.add(list.substring(from));
    return out;
  }
}
