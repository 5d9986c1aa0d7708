package org.warehouse.transforms.dedupe;

import java.sql.ResultSet;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.values.KV;

/**
 * Maps a row of {@link ReadKeyCandidates#partialQuery} — key columns as text, group size, the
 * range's best (latest, id) — to (encoded key, {@link Candidate} standing for {@code n} rows). The
 * same key encoding as {@link KeyCandidateMapper}, so both feed the same Combine.
 */
public final class PartialCandidateMapper implements JdbcIO.RowMapper<KV<String, Candidate>> {
  private static final long serialVersionUID = 1L;

  private final int tableIndex;
  private final int keyColumns;
  private final Counter rowsRead;
  private final Counter nullKeyRows;

  public PartialCandidateMapper(int tableIndex, String tableName, int keyColumns) {
    this.tableIndex = tableIndex;
    this.keyColumns = keyColumns;
    this.rowsRead = Metrics.counter("dedupe." + tableName, "rowsRead");
    this.nullKeyRows = Metrics.counter("dedupe." + tableName, "nullKeyRows");
  }

  @Override
  public KV<String, Candidate> mapRow(ResultSet rs) throws Exception {
    String key = KeyCandidateMapper.encodeKey(rs, 1, keyColumns, tableIndex);
    long n = rs.getLong(keyColumns + 1);
    Long[] best = (Long[]) rs.getArray(keyColumns + 2).getArray();
    long id = best[1];
    boolean latestNull = best[0] == Long.MAX_VALUE;
    rowsRead.inc(n);
    if (key == null) {
      nullKeyRows.inc(n);
      key = KeyCandidateMapper.nullKey(tableIndex, id);
    }
    return KV.of(key, new Candidate(id, latestNull ? 0 : best[0], latestNull, n));
  }
}
