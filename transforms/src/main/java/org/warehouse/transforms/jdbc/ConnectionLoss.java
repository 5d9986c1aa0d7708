package org.warehouse.transforms.jdbc;

import java.sql.SQLException;
import java.util.Set;

/**
 * A connection that the server or the network ended (restart, {@code pg_terminate_backend}, idle
 * session timeout, a proxy): recognised in any cause chain and said in one line.
 */
public final class ConnectionLoss {
  /** Administrator shutdown/termination, crash shutdown, cannot connect now, idle-session timeout. */
  private static final Set<String> STATES = Set.of("57P01", "57P02", "57P03", "57P05", "25P03");

  private ConnectionLoss() {}

  public static boolean isConnectionLoss(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SQLException) {
        String s = ((SQLException) t).getSQLState();
        if (s != null && (s.startsWith("08") || STATES.contains(s))) {
          return true;
        }
      }
      String m = String.valueOf(t.getMessage());
      if (m.contains("This connection has been closed") || m.contains("An I/O error occurred while sending")
          || m.contains("terminating connection due to administrator command")) {
        return true;
      }
    }
    return false;
  }

  /** One line: "the server closed the connection (restart or terminated backend?) while {during}". */
  public static WarehouseException explain(Throwable e, String during) {
    return new WarehouseException("the server closed the connection (restart or terminated backend?) while "
        + during, e);
  }
}
