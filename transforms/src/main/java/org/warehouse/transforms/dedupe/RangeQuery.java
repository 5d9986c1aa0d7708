package org.warehouse.transforms.dedupe;

import java.sql.PreparedStatement;
import org.apache.beam.sdk.io.jdbc.JdbcIO;
import org.apache.beam.sdk.values.KV;

/** Binds an id range [from, to) to the two parameters of a range query (a named class for JdbcIO). */
public final class RangeQuery implements JdbcIO.PreparedStatementSetter<KV<Long, Long>> {
  private static final long serialVersionUID = 1L;

  @Override
  public void setParameters(KV<Long, Long> range, PreparedStatement ps) throws Exception {
    ps.setLong(1, range.getKey());
    ps.setLong(2, range.getValue());
  }
}
