package org.warehouse.pipelines.promote.mariadb;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;
import java.util.UUID;
import org.junit.rules.ExternalResource;
import org.warehouse.testing.TestDatabase;

/**
 * A fresh MariaDB database per test, on the private server {@code scripts/local-mariadb start test}
 * runs (installing Debian's mariadb-server when missing), or on the server {@code MARIADB_TEST_URL}
 * names ({@code jdbc:mariadb://host:port/db}, with {@code MARIADB_TEST_USER} and {@code
 * MARIADB_TEST_PASSWORD}). Dropped afterwards.
 */
public final class MariaDbTestDatabase extends ExternalResource {
  private static final Object LOCK = new Object();

  private String name;
  private MariaDbConfig server;
  private Path passwordFile;

  @Override
  protected void before() throws Throwable {
    server = server();
    name = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
    try (Connection c = server.connect("warehouse-tests"); Statement st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name + " CHARACTER SET utf8mb4");
    }
    passwordFile = Files.createTempFile("wh-test-mariadb-pw", ".txt");
    Files.writeString(passwordFile, password, StandardCharsets.UTF_8);
  }

  @Override
  protected void after() {
    try (Connection c = server.connect("warehouse-tests"); Statement st = c.createStatement()) {
      st.execute("DROP DATABASE IF EXISTS " + name);
    } catch (SQLException e) {
      System.err.println("warning: could not drop test database " + name + ": " + e.getMessage());
    }
    try {
      Files.deleteIfExists(passwordFile);
    } catch (IOException ignored) {
      // a temp file
    }
  }

  private String baseUrl;
  private String user;
  private String password;

  /** The test database's URL ({@code jdbc:mariadb://127.0.0.1:PORT/t_…}). */
  public String url() {
    return baseUrl + "/" + name;
  }

  public String user() {
    return user;
  }

  /** The password, for a connection of the test's own. */
  public String password() {
    return password;
  }

  public String passwordFile() {
    return passwordFile.toString();
  }

  public String databaseName() {
    return name;
  }

  public MariaDbConfig config() {
    return new MariaDbConfig(url(), user, password);
  }

  public Connection connect() throws SQLException {
    return config().connect("warehouse-tests");
  }

  private MariaDbConfig server() throws IOException, InterruptedException {
    synchronized (LOCK) {
      String external = System.getenv("MARIADB_TEST_URL");
      if (external != null && !external.isBlank()) {
        int slash = external.indexOf('/', external.indexOf("//") + 2);
        baseUrl = slash < 0 ? external : external.substring(0, slash);
        user = System.getenv().getOrDefault("MARIADB_TEST_USER", "root");
        password = System.getenv().getOrDefault("MARIADB_TEST_PASSWORD", "");
        return new MariaDbConfig(external, user, password);
      }
      Path root = TestDatabase.repoRoot();
      File log = new File(System.getProperty("java.io.tmpdir"), "local-mariadb-tests.log");
      Process p = new ProcessBuilder(root.resolve("scripts/local-mariadb").toString(), "start", "test")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log)).start();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("scripts/local-mariadb start test failed (see " + log + "), or set MARIADB_TEST_URL");
      }
      Path state = root.resolve(".local-mariadb").resolve("test");
      baseUrl = "jdbc:mariadb://127.0.0.1:" + Files.readString(state.resolve("port")).strip();
      user = "warehouse";
      password = Files.readString(state.resolve("password")).strip();
      return new MariaDbConfig(baseUrl + "/warehouse", user, password);
    }
  }
}
