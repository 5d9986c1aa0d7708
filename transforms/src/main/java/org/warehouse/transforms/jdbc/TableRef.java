package org.warehouse.transforms.jdbc;

import java.io.Serializable;
import java.util.Objects;

/** A validated {@code [schema.]table} name; {@link #quoted()} is safe to splice into SQL. */
public final class TableRef implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String schema;
  private final String name;

  private TableRef(String schema, String name) {
    this.schema = Sql.requireIdent("schema", schema);
    this.name = Sql.requireIdent("table", name);
  }

  public static TableRef of(String schema, String name) {
    return new TableRef(schema, name);
  }

  /** Parses {@code table} or {@code schema.table}; the schema defaults to {@code defaultSchema}. */
  public static TableRef parse(String qualified, String defaultSchema) {
    if (qualified == null || qualified.isBlank()) {
      throw new IllegalArgumentException("empty table name");
    }
    String[] parts = qualified.trim().split("\\.", -1);
    if (parts.length == 1) {
      return new TableRef(defaultSchema, parts[0]);
    }
    if (parts.length == 2) {
      return new TableRef(parts[0], parts[1]);
    }
    throw new IllegalArgumentException("table name '" + qualified + "' must be table or schema.table");
  }

  public String schema() {
    return schema;
  }

  public String name() {
    return name;
  }

  /** The same schema, another table name (e.g. the staging or backup table beside this one). */
  public TableRef withName(String newName) {
    return new TableRef(schema, newName);
  }

  /** The same name with a suffix, shortened so PostgreSQL's 63-character limit keeps it distinct. */
  public TableRef withSuffix(String suffix) {
    String base = name.length() + suffix.length() > 63 ? name.substring(0, 63 - suffix.length()) : name;
    return new TableRef(schema, base + suffix);
  }

  public String quoted() {
    return Sql.quoteIdent(schema) + "." + Sql.quoteIdent(name);
  }

  @Override
  public String toString() {
    return "public".equals(schema) ? name : schema + "." + name;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof TableRef
        && ((TableRef) o).schema.equals(schema)
        && ((TableRef) o).name.equals(name);
  }

  @Override
  public int hashCode() {
    return Objects.hash(schema, name);
  }
}
