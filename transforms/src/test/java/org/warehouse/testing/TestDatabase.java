package org.warehouse.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;
import java.util.UUID;
import org.junit.rules.ExternalResource;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.JdbcConfig;

/**
 * A fresh PostgreSQL database per test class (or method), on the private throwaway cluster that
 * {@code scripts/local-pg start test} runs, or on the server {@code PG_TEST_URL} names (with
 * {@code PGUSER}/{@code PGPASSWORD}). Dropped afterwards.
 *
 * <pre>{@code @ClassRule public static final TestDatabase DB = new TestDatabase();}</pre>
 */
public final class TestDatabase extends ExternalResource {
  private static final Object LOCK = new Object();
  private static JdbcConfig serverConfig; // the server is started once per JVM

  private final String cluster;
  private String name;
  private JdbcConfig config;
  private Path passwordFile;

  public TestDatabase() {
    this("test");
  }

  /** A database on another private cluster (e.g. a second server for source/target tests). */
  public TestDatabase(String cluster) {
    this.cluster = cluster;
  }

  @Override
  protected void before() throws Throwable {
    JdbcConfig server = server(cluster);
    name = "t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12).toLowerCase(Locale.ROOT);
    try (Connection c = server.connect("warehouse-tests")) {
      Db.execute(c, "CREATE DATABASE " + name);
    }
    config = server.withDatabase(name);
    passwordFile = Files.createTempFile("wh-test-pw", ".txt");
    Files.writeString(passwordFile, server.password() == null ? "" : server.password(), StandardCharsets.UTF_8);
    passwordFile.toFile().deleteOnExit();
  }

  @Override
  protected void after() {
    try (Connection c = server(cluster).connect("warehouse-tests")) {
      Db.execute(c, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (Exception e) {
      System.err.println("warning: could not drop test database " + name + ": " + e.getMessage());
    }
    try {
      Files.deleteIfExists(passwordFile);
    } catch (IOException ignored) {
      // temp file
    }
  }

  public JdbcConfig config() {
    return config;
  }

  public String url() {
    return config.url();
  }

  public String databaseName() {
    return name;
  }

  public String user() {
    return config.user();
  }

  /** A file holding the password, for {@code --passwordFile}. */
  public String passwordFile() {
    return passwordFile.toString();
  }

  /** {@code --jdbcUrl=… --dbUser=… --passwordFile=…} for a pipeline's command line. */
  public String[] connectionArgs() {
    return new String[] {"--jdbcUrl=" + url(), "--dbUser=" + user(), "--passwordFile=" + passwordFile()};
  }

  public Connection connect() throws SQLException {
    return config.connect("warehouse-tests");
  }

  /** The server (database "postgres") of a private cluster, started on first use. */
  public static JdbcConfig server(String cluster) throws IOException, InterruptedException {
    synchronized (LOCK) {
      String external = System.getenv("PG_TEST_URL");
      if (external != null && !external.isBlank() && "test".equals(cluster)) {
        if (serverConfig == null) {
          serverConfig = JdbcConfig.fromOptions(external, null, null).withDatabase("postgres");
        }
        return serverConfig;
      }
      Path root = repoRoot();
      Process p = new ProcessBuilder(root.resolve("scripts/local-pg").toString(), "start", cluster)
          .redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.appendTo(new File(System.getProperty("java.io.tmpdir"), "local-pg-tests.log")))
          .start();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("scripts/local-pg start " + cluster + " failed (see "
            + System.getProperty("java.io.tmpdir") + "/local-pg-tests.log), or set PG_TEST_URL");
      }
      Path state = root.resolve(".local-pg").resolve(cluster);
      String port = Files.readString(state.resolve("port")).strip();
      String pw = Files.readString(state.resolve("password")).strip();
      return JdbcConfig.of("jdbc:postgresql://127.0.0.1:" + port + "/postgres", "warehouse", pw);
    }
  }

  /** The project root: the nearest directory upwards that has scripts/local-pg. */
  public static Path repoRoot() {
    Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (p != null && !Files.isExecutable(p.resolve("scripts/local-pg"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException("cannot find scripts/local-pg above " + System.getProperty("user.dir"));
    }
    return p;
  }
}
