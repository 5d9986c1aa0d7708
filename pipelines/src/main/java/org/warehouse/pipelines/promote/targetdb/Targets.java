package org.warehouse.pipelines.promote.targetdb;

import org.warehouse.pipelines.common.UsageException;
import org.warehouse.pipelines.promote.mariadb.MariaDbConfig;
import org.warehouse.pipelines.promote.mariadb.MariaDbTarget;
import org.warehouse.transforms.jdbc.JdbcConfig;

/** Chooses the {@link TargetDatabase} implementation from the scheme of {@code --targetUrl}. */
public final class Targets {
  private Targets() {}

  /**
   * The target for a URL, user and password file (null: the environment's), or a {@link
   * UsageException} naming the schemes there are.
   */
  public static TargetDatabase open(String url, String user, String passwordFile, String pipeline) {
    if (url != null && url.startsWith("jdbc:postgresql:")) {
      return new PostgresTarget(options("target", () -> JdbcConfig.fromOptions(url, user, passwordFile)), pipeline);
    }
    if (MariaDbConfig.accepts(url)) {
      return new MariaDbTarget(MariaDbConfig.fromOptions(url, user, passwordFile), pipeline);
    }
    throw new UsageException("--targetUrl must start with jdbc:postgresql:, jdbc:mariadb: or jdbc:mysql: (got '"
        + (url == null ? "" : org.warehouse.transforms.jdbc.JdbcUrls.redact(url)) + "')");
  }

  /** Builds a config, naming the option of this side ({@code --targetUrl}, …) in its errors. */
  public static JdbcConfig options(String side, java.util.function.Supplier<JdbcConfig> build) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage().replace("--jdbcUrl", "--" + side + "Url")
          .replace("--passwordFile", "--" + side + "PasswordFile"));
    }
  }
}
