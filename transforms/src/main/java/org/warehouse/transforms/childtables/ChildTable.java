package org.warehouse.transforms.childtables;

import java.util.List;

/**
 * The six breezeway child tables the broken hourly sync filled with duplicates, with their natural
 * keys and the duplicate profile at {@code --childScale=1} (36.5M rows, ~70K unique keys).
 *
 * <p>Every table: {@code id bigserial} primary key, two bigint natural-key columns (parent key,
 * child id), two text and one int payload columns whose values differ between duplicates (a later
 * sync carries a newer caption/status), and {@code synced_at timestamptz}.
 */
public enum ChildTable {
  PROPERTY_PHOTOS("property_photos", "property_pk", "photo_id", "caption", "url", "sort_order",
      10_192_750L, 16_113L, 0),
  TASK_REQUIREMENTS("task_requirements", "task_pk", "requirement_id", "status", "note", "position",
      24_174_099L, 26_580L, 0),
  TASK_ASSIGNMENTS("task_assignments", "task_pk", "assignee_id", "role", "status", "priority",
      900_000L, 9_000L, 0),
  TASK_PHOTOS("task_photos", "task_pk", "photo_id", "caption", "url", "sort_order",
      700_000L, 7_000L, 20_000),
  TASK_COMMENTS("task_comments", "task_pk", "comment_id", "body", "author", "edits",
      500_000L, 5_000L, 20_000),
  RESERVATION_GUESTS("reservation_guests", "reservation_pk", "guest_id", "full_name", "email", "age",
      6_000L, 6_000L, 0);

  public static final String SCHEMA = "breezeway";

  private final String tableName;
  private final String parentKey;
  private final String childKey;
  private final String text1;
  private final String text2;
  private final String int1;
  private final long fullRows;
  private final long fullUnique;
  private final int nullKeyEvery;

  ChildTable(String tableName, String parentKey, String childKey, String text1, String text2, String int1,
      long fullRows, long fullUnique, int nullKeyEvery) {
    this.tableName = tableName;
    this.parentKey = parentKey;
    this.childKey = childKey;
    this.text1 = text1;
    this.text2 = text2;
    this.int1 = int1;
    this.fullRows = fullRows;
    this.fullUnique = fullUnique;
    this.nullKeyEvery = nullKeyEvery;
  }

  public String tableName() {
    return tableName;
  }

  public List<String> naturalKey() {
    return List.of(parentKey, childKey);
  }

  /** Columns in table (and COPY) order. */
  public List<String> columns() {
    return List.of("id", parentKey, childKey, text1, text2, int1, "synced_at");
  }

  /** The parent table the first key column points at. */
  public String parentTable() {
    return parentKey.equals("property_pk") ? "properties" : parentKey.equals("task_pk") ? "tasks" : "reservations";
  }

  public String parentKey() {
    return parentKey;
  }

  /** Rows at scale {@code f} (at least the unique keys). */
  public long rows(double f) {
    return Math.max(unique(f), Math.round(fullRows * f));
  }

  /** Distinct non-NULL natural keys at scale {@code f} (at least 1). */
  public long unique(double f) {
    return Math.max(1, Math.round(fullUnique * f));
  }

  /** Every n-th duplicate row has a NULL child key (0 = never): the ETL sometimes lost the id. */
  public int nullKeyEvery() {
    return nullKeyEvery;
  }

  public String createTableSql(String quotedTable) {
    return "CREATE TABLE " + quotedTable + " (id bigserial NOT NULL, " + parentKey + " bigint, " + childKey
        + " bigint, " + text1 + " text, " + text2 + " text, " + int1 + " integer, synced_at timestamptz)";
  }
}
