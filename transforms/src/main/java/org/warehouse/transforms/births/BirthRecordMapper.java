package org.warehouse.transforms.births;

import java.sql.ResultSet;
import java.time.LocalDate;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.warehouse.transforms.jdbc.WarehouseException;

/**
 * Maps a fact_births row to a {@link BirthRecord}. A named class, not a lambda: JdbcIO's display
 * data needs a class name. Expects the columns of {@link ReadBirths#projection}.
 */
public final class BirthRecordMapper implements JdbcIO.RowMapper<BirthRecord> {
  private static final long serialVersionUID = 1L;

  @Override
  public BirthRecord mapRow(ResultSet rs) throws Exception {
    LocalDate date = rs.getObject(2, LocalDate.class);
    if (date == null) {
      throw new WarehouseException(
          "fact_births row birth_id=" + rs.getLong(1) + " has a NULL birth_date: fix or delete the row, then re-run");
    }
    return new BirthRecord(
        (int) date.toEpochDay(),
        intOrNull(rs, 3),
        intOrNull(rs, 4),
        intOrNull(rs, 5),
        intOrNull(rs, 6),
        intOrNull(rs, 7),
        intOrNull(rs, 8),
        intOrNull(rs, 9),
        intOrNull(rs, 10));
  }

  private static int intOrNull(ResultSet rs, int col) throws java.sql.SQLException {
    int v = rs.getInt(col);
    return rs.wasNull() ? BirthRecord.NULL : v;
  }
}
