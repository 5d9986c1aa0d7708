package org.warehouse.transforms.births;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.LocalDate;
import org.warehouse.transforms.jdbc.WarehouseException;

/** Maps a fact_births row to a {@link BirthRecord}. Expects the columns of {@link ReadBirths#query}. */
public final class BirthRecordMapper {
  public BirthRecord mapRow(ResultSet rs) throws SQLException {
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
        intOrNull(rs, 10),
        intOrNull(rs, 11),
        intOrNull(rs, 12));
  }

  private static int intOrNull(ResultSet rs, int col) throws SQLException {
    int v = rs.getInt(col);
    return rs.wasNull() ? BirthRecord.NULL : v;
  }
}
