package org.warehouse.pipelines.promote.mariadb;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Locale;
import java.util.Properties;
import org.warehouse.pipelines.common.CommandLineErrors;
import org.warehouse.pipelines.common.UsageException;
import org.warehouse.transforms.jdbc.JdbcConfig;
import org.warehouse.transforms.jdbc.JdbcUrls;

/**
 * Where and how to connect to a MariaDB or MySQL target (MariaDB Connector/J). {@code jdbc:mysql://}
 * URLs are accepted and opened as {@code jdbc:mariadb://}. The password is never part of {@link
 * #toString()} or any message.
 *
 * <p>Every session runs in strict SQL mode, in UTC, with utf8mb4 and {@code local_infile} allowed on the
 * client side (LOAD DATA LOCAL reads only the stream the loader hands it, never a file).
 */
public final class MariaDbConfig implements Serializable {
  private static final long serialVersionUID = 1L;
  /** Session settings of every connection: strict, UTC, utf8mb4 (a comma-separated sessionVariables list). */
  static final String SESSION_VARIABLES =
      "sql_mode='STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ERROR_FOR_DIVISION_BY_ZERO',time_zone='+00:00'";

  private final String url; // as given (for messages and the report)
  private final String user;
  private final String password; // never logged

  public MariaDbConfig(String url, String user, String password) {
    this.url = url;
    this.user = user;
    this.password = password;
  }

  /**
   * Builds a config from {@code --targetUrl}, {@code --targetUser} (default {@code root}) and {@code
   * --targetPasswordFile} (default: the environment's {@code MYSQL_PWD}); a URL carrying a password is
   * a {@link UsageException}.
   */
  public static MariaDbConfig fromOptions(String url, String user, String passwordFile) {
    String secret = JdbcUrls.secretIn(url);
    if (secret != null) {
      throw new UsageException("--targetUrl must not contain a password (it has " + secret
          + "): put it in a file named by --targetPasswordFile, or in MYSQL_PWD");
    }
    String pw;
    try {
      pw = passwordFile != null && !passwordFile.isBlank() ? JdbcConfig.readPasswordFile(passwordFile)
          : System.getenv("MYSQL_PWD");
    } catch (IllegalArgumentException e) {
      throw new UsageException(e.getMessage().replace("--passwordFile", "--targetPasswordFile"));
    }
    return new MariaDbConfig(url, user != null && !user.isBlank() ? user : "root", pw);
  }

  /** True for the URLs this target serves: {@code jdbc:mariadb:} and {@code jdbc:mysql:}. */
  public static boolean accepts(String url) {
    String u = url == null ? "" : url.toLowerCase(Locale.ROOT);
    return u.startsWith("jdbc:mariadb:") || u.startsWith("jdbc:mysql:");
  }

  public String url() {
    return url;
  }

  public String user() {
    return user;
  }

  /** The URL Connector/J opens (jdbc:mysql: becomes jdbc:mariadb:). */
  String driverUrl() {
    return url.toLowerCase(Locale.ROOT).startsWith("jdbc:mysql:") ? "jdbc:mariadb:" + url.substring("jdbc:mysql:".length())
        : url;
  }

  /** Opens a connection; a refused or failed one becomes a message a person can act on. */
  public Connection connect(String applicationName) throws SQLException {
    Properties p = new Properties();
    p.setProperty("user", user);
    if (password != null) {
      p.setProperty("password", password);
    }
    p.setProperty("allowLocalInfile", "true");
    p.setProperty("connectTimeout", "15000");
    p.setProperty("tcpKeepAlive", "true");
    p.setProperty("sessionVariables", SESSION_VARIABLES);
    p.setProperty("connectionAttributes", "program_name:" + applicationName);
    try {
      Connection c = DriverManager.getConnection(driverUrl(), p);
      try (java.sql.Statement st = c.createStatement()) {
        st.execute("SET NAMES utf8mb4");
      }
      return c;
    } catch (SQLException e) {
      throw new SQLException("cannot connect to " + url + " as user '" + user + "': " + CommandLineErrors.oneLine(e.getMessage())
          + " (is the server running and reachable? check --targetUrl, --targetUser and the password)",
          e.getSQLState(), e);
    }
  }

  @Override
  public String toString() {
    return "MariaDbConfig{" + url + ", user=" + user + "}";
  }
}
