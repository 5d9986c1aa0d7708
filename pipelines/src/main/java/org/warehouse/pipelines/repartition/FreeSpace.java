package org.warehouse.pipelines.repartition;

import java.util.Locale;

/**
 * Free disk space where the new partitioned table will live, as {@link DiskSpace} measured it, or why
 * it was not measured. A value.
 *
 * @param tablespace the tablespace the new table goes to; null when not looked up
 * @param directory the directory df measured; null when not measured
 * @param bytes what df says is available there; -1 when not measured
 * @param reclaimable bytes held by the work tables of a run that did not finish (dropped before the copy)
 * @param notChecked why it was not measured; null when it was
 */
public record FreeSpace(String tablespace, String directory, long bytes, long reclaimable, String notChecked) {
  /** Not measured, for the reason {@code why}. */
  public static FreeSpace unchecked(String tablespace, String why) {
    return new FreeSpace(tablespace, null, -1, 0, why);
  }

  public boolean checked() {
    return notChecked == null;
  }

  /** The room the copy may use: free now plus what the dead run's work tables release. */
  public long available() {
    return bytes + reclaimable;
  }

  /** {@code tablespace pg_default (/srv/pg/base) has 3.1 GB free}, or why the space was not checked. */
  public String describe() {
    if (!checked()) {
      return "free disk space not checked (" + notChecked + ")";
    }
    return "tablespace " + tablespace + " (" + directory + ") has " + size(bytes) + " free" + (reclaimable > 0 ? " (and "
        + size(reclaimable) + " in the work tables of a run that did not finish, dropped before the copy)" : "");
  }

  /** Bytes as PostgreSQL's pg_size_pretty counts them (1 kB = 1024 bytes), one decimal. */
  public static String size(long bytes) {
    String[] units = {"kB", "MB", "GB", "TB", "PB"};
    if (bytes < 1024) {
      return bytes + " bytes";
    }
    double v = bytes / 1024.0;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[u]);
  }
}
