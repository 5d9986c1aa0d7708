package org.warehouse.transforms.jdbc;

import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Properties;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Where and how to connect to PostgreSQL. The password is never part of the URL, {@link
 * #toString()} or any display data: it comes from {@code --passwordFile} or {@code PGPASSWORD}.
 *
 * <p>Every session gets {@code work_mem} set (default 64MB): PostgreSQL's 4MB default makes
 * sorts and hashes spill to disk on our volumes.
 */
public final class JdbcConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String url;
  private final String user;
  private final String password; // never logged, never in toString/display data
  private final String workMem;

  private JdbcConfig(String url, String user, String password, String workMem) {
    this.url = url;
    this.user = user;
    this.password = password;
    this.workMem = workMem;
  }

  /**
   * Builds a config from the command line and the environment.
   *
   * @param url a {@code jdbc:postgresql://} URL without credentials
   * @param user the user, or null for {@code PGUSER} (then the OS default {@code postgres})
   * @param passwordFile a file whose first line is the password, or null for {@code PGPASSWORD}
   */
  public static JdbcConfig fromOptions(String url, String user, String passwordFile) {
    if (url == null || url.isBlank()) {
      throw new IllegalArgumentException("--jdbcUrl is required, e.g. jdbc:postgresql://localhost:5432/warehouse");
    }
    if (!url.startsWith("jdbc:postgresql:")) {
      throw new IllegalArgumentException("--jdbcUrl must start with jdbc:postgresql: (got '" + JdbcUrls.redact(url) + "')");
    }
    String secret = JdbcUrls.secretIn(url);
    if (secret != null) {
      throw new IllegalArgumentException("--jdbcUrl must not contain a password (it has " + secret
          + "): put it in PGPASSWORD or a file named by --passwordFile");
    }
    String u = user != null && !user.isBlank() ? user : System.getenv("PGUSER");
    if (u == null || u.isBlank()) {
      u = "postgres";
    }
    String pw = passwordFile != null && !passwordFile.isBlank() ? readPasswordFile(passwordFile)
        : System.getenv("PGPASSWORD");
    return new JdbcConfig(url, u, pw, "64MB");
  }

  /** The first line of a password file, stripped; an {@link IllegalArgumentException} naming --passwordFile when unreadable. */
  public static String readPasswordFile(String passwordFile) {
    try {
      String content = Files.readString(Path.of(passwordFile), StandardCharsets.UTF_8);
      int nl = content.indexOf('\n');
      return (nl >= 0 ? content.substring(0, nl) : content).strip();
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read --passwordFile " + passwordFile + ": " + e.getMessage());
    }
  }

  public static JdbcConfig of(String url, String user, String password) {
    return new JdbcConfig(url, user, password, "64MB");
  }

  /** The same server and credentials, another database on it. */
  public JdbcConfig withDatabase(String database) {
    int slash = url.indexOf('/', "jdbc:postgresql://".length());
    int q = url.indexOf('?');
    String base = slash < 0 ? url : url.substring(0, slash);
    String params = q < 0 ? "" : url.substring(q);
    return new JdbcConfig(base + "/" + database + params, user, password, workMem);
  }

  public JdbcConfig withWorkMem(String newWorkMem) {
    return new JdbcConfig(url, user, password, newWorkMem);
  }

  public String url() {
    return url;
  }

  public String user() {
    return user;
  }

  /** The password, for tools that must pass it on (PGPASSWORD of a child psql); never log it. */
  public String password() {
    return password;
  }

  /** A pgjdbc DataSource for this config (no pooling: one physical connection per call). */
  public DataSource dataSource(String applicationName) {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(url);
    ds.setUser(user);
    if (password != null) {
      ds.setPassword(password);
    }
    ds.setApplicationName(applicationName);
    ds.setConnectTimeout(15);
    ds.setTcpKeepAlive(true);
    ds.setOptions("-c work_mem=" + workMem);
    return ds;
  }

  /** Opens a connection, turning a refused or failed connection into a message a person can act on. */
  public Connection connect(String applicationName) throws SQLException {
    try {
      return dataSource(applicationName).getConnection();
    } catch (SQLException e) {
      throw new SQLException(
          "cannot connect to " + JdbcUrls.redact(url) + " as user '" + user + "': " + firstLine(e.getMessage())
              + " (is the server running and reachable? check --jdbcUrl, PGUSER and the password)",
          e.getSQLState(),
          e);
    }
  }

  public Properties describe() {
    Properties p = new Properties();
    p.setProperty("url", JdbcUrls.redact(url));
    p.setProperty("user", user);
    return p;
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  @Override
  public String toString() {
    return "JdbcConfig{" + JdbcUrls.redact(url) + ", user=" + user + "}";
  }
}
