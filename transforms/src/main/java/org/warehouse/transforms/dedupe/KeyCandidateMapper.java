package org.warehouse.transforms.dedupe;

import java.sql.ResultSet;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.values.KV;

/**
 * Maps a row of {@link ReadKeyCandidates#rowQuery} — id, latest (epoch µs), key columns as text —
 * to (encoded natural key, {@link Candidate}). The key is prefixed with the table's index, so many
 * tables can share one Combine. A row with a NULL key column gets a key of its own ("N" + id): it
 * never collapses with another row (it is reported and kept, see docs/dedupe.md).
 */
public final class KeyCandidateMapper implements JdbcIO.RowMapper<KV<String, Candidate>> {
  private static final long serialVersionUID = 1L;

  private final int tableIndex;
  private final int keyColumns;
  private final Counter rowsRead;
  private final Counter nullKeyRows;

  public KeyCandidateMapper(int tableIndex, String tableName, int keyColumns) {
    this.tableIndex = tableIndex;
    this.keyColumns = keyColumns;
    this.rowsRead = Metrics.counter("dedupe." + tableName, "rowsRead");
    this.nullKeyRows = Metrics.counter("dedupe." + tableName, "nullKeyRows");
  }

  @Override
  public KV<String, Candidate> mapRow(ResultSet rs) throws Exception {
    long id = rs.getLong(1);
    long micros = rs.getLong(2);
    boolean latestNull = rs.wasNull();
    String key = encodeKey(rs, 3, keyColumns, tableIndex);
    rowsRead.inc();
    if (key == null) {
      nullKeyRows.inc();
      key = nullKey(tableIndex, id);
    }
    return KV.of(key, new Candidate(id, micros, latestNull, 1));
  }

  /**
   * The natural key of columns {@code first..first+keyColumns-1} (as text), length-prefixed so no two
   * keys collide, behind the table index; null when a key column is NULL.
   */
  static String encodeKey(ResultSet rs, int first, int keyColumns, int tableIndex) throws java.sql.SQLException {
    StringBuilder key = new StringBuilder(48).append(tableIndex).append('|');
    for (int i = 0; i < keyColumns; i++) {
      String v = rs.getString(first + i);
      if (v == null) {
        return null;
      }
      key.append(v.length()).append(':').append(v);
    }
    return key.toString();
  }

  /** The key of a row with a NULL key column: its own, so it never collapses with another row. */
  static String nullKey(int tableIndex, long id) {
    return tableIndex + "|N" + id;
  }

  /** The table index of an encoded key. */
  public static int tableIndex(String key) {
    return Integer.parseInt(key.substring(0, key.indexOf('|')));
  }
}
