package org.warehouse.cluster;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.empty;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.matchesPattern;
import static org.hamcrest.Matchers.not;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.warehouse.cluster.Scripts.Result;
import org.warehouse.testing.AggregateOracle;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.births.AggTable;
import org.warehouse.transforms.jdbc.Db;

/**
 * The real thing: {@code scripts/flink-cluster start} (a JobManager JVM and a TaskManager JVM whose
 * classpath has Flink but no Beam), then {@code scripts/run PIPELINE --flinkMaster=HOST:PORT} for each
 * pipeline against a fresh PostgreSQL database. Each submission must exit 0, leave one or more new jobs
 * FINISHED in the cluster's REST API ({@code /jobs/overview}) and a SUCCEEDED report; every agg table
 * must equal PostgreSQL's own computation (scripts/sql/aggregate_oracle.sql, EXCEPT ALL both ways).
 * The cluster is stopped afterwards, also when something fails, and no JVM of it may be left.
 *
 * <p>To cover another pipeline, add a {@link #submit} (or {@link #submitWith}) call in
 * {@link #pipelinesRunOnTheClusterAndAggregatesEqualTheSqlOracle}.
 */
public class FlinkClusterTest {
  @ClassRule public static final TestDatabase DB = new TestDatabase();
  /** promote's production database: another private PostgreSQL server. */
  @ClassRule public static final TestDatabase PRODUCTION = new TestDatabase("test2");

  private static final Path ROOT = Scripts.ROOT;
  private static final Path JAR = Scripts.JAR;
  private static final Path CLUSTER_LIB = ROOT.resolve("runners/flink-cluster/target/lib");
  private static final Duration STEP_TIMEOUT = Duration.ofMinutes(5);
  private static final int GENERATED_BIRTHS = 20_000;
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private static Path stateDir;
  private static Path reports;
  private static String master;
  private static volatile boolean stopped;

  @BeforeClass
  public static void startCluster() throws Exception {
    assertTrue("missing " + JAR + ": build it first (mvn -DskipTests package)", Files.isRegularFile(JAR));
    stateDir = Path.of("target", "flink-cluster-test").toAbsolutePath();
    reports = Files.createDirectories(Path.of("target", "flink-cluster-reports").toAbsolutePath());
    // if this JVM is killed (surefire timeout, Ctrl-C) before @AfterClass, still stop the cluster's JVMs
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (!stopped) {
        try {
          script(Duration.ofMinutes(1), ROOT.resolve("scripts/flink-cluster").toString(), "stop");
        } catch (Exception ignored) {
          // nothing more to do while the JVM exits
        }
      }
    }, "stop-flink-cluster"));
    Result start = script(Duration.ofMinutes(3), ROOT.resolve("scripts/flink-cluster").toString(), "start");
    System.out.println(start.output);
    assertEquals("scripts/flink-cluster start failed:\n" + start.output, 0, start.exitCode);
    master = start.lastLine();
    assertThat(master, matchesPattern("127\\.0\\.0\\.1:\\d+"));
  }

  @AfterClass
  public static void stopCluster() throws Exception {
    if (stateDir == null) {
      return;
    }
    List<String> pids = new ArrayList<>();
    for (String n : List.of("jobmanager.pid", "taskmanager.pid")) {
      Path f = stateDir.resolve(n);
      if (Files.exists(f)) {
        pids.add(Files.readString(f).strip());
      }
    }
    Result stop = script(Duration.ofMinutes(1), ROOT.resolve("scripts/flink-cluster").toString(), "stop");
    stopped = stop.exitCode == 0;
    System.out.println(stop.output);
    assertEquals("scripts/flink-cluster stop failed:\n" + stop.output, 0, stop.exitCode);
    for (String pid : pids) {
      assertTrue("cluster JVM " + pid + " is still running after stop", !Files.exists(Path.of("/proc", pid)));
    }
    Result status = script(Duration.ofMinutes(1), ROOT.resolve("scripts/flink-cluster").toString(), "status");
    assertThat("status after stop must say down", status.exitCode, not(equalTo(0)));
  }

  @Test
  public void statusPrintsTheRestAddressAndTheClusterHasNoBeamOnItsClasspath() throws Exception {
    Result status = script(Duration.ofMinutes(1), ROOT.resolve("scripts/flink-cluster").toString(), "status");
    assertEquals(status.output, 0, status.exitCode);
    assertEquals(master, status.lastLine());
    JsonNode overview = get("/overview");
    assertEquals("1.19.0", overview.get("flink-version").asText());
    assertThat(overview.get("taskmanagers").asInt(), greaterThan(0));
    // The Beam Flink runner must reach the cluster inside the staged jar, as on a production cluster.
    try (Stream<Path> jars = Files.list(CLUSTER_LIB)) {
      List<String> beam = jars.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("beam-"))
          .collect(Collectors.toList());
      assertThat("Beam jars on the cluster's own classpath", beam, empty());
    }
  }

  @Test
  public void pipelinesRunOnTheClusterAndAggregatesEqualTheSqlOracle() throws Exception {
    submit("load-reference");
    submit("generate", "--births=" + GENERATED_BIRTHS, "--seed=7");
    JsonNode aggregate = submit("aggregate");

    try (Connection c = DB.connect()) {
      assertEquals(GENERATED_BIRTHS, Db.queryLong(c, "SELECT count(*) FROM fact_births"));
      AggregateOracle.assertEveryTableMatchesOracle(c); // every agg table == PostgreSQL's GROUP BY, both ways
    }
    assertEquals(AggTable.values().length, aggregate.get("tables").size());
    assertEquals(GENERATED_BIRTHS, aggregate.get("details").get("factRows").asLong());

    // promote every dim_*/agg_* table to the other server; each must equal its source row for row
    JsonNode promote = submitWith(List.of(
        "--sourceUrl=" + DB.url(), "--sourceUser=" + DB.user(), "--sourcePasswordFile=" + DB.passwordFile(),
        "--targetUrl=" + PRODUCTION.url(), "--targetUser=" + PRODUCTION.user(),
        "--targetPasswordFile=" + PRODUCTION.passwordFile()), "promote");
    List<String> promoted = new ArrayList<>();
    promote.get("tables").forEach(t -> promoted.add(t.get("name").asText()));
    assertEquals("3 dimensions + every agg table: " + promoted, 3 + AggTable.values().length, promoted.size());
    try (Connection src = DB.connect(); Connection dst = PRODUCTION.connect()) {
      for (String table : promoted) {
        assertEquals(table + " on production differs from the source", tableDigest(src, table), tableDigest(dst, table));
      }
    }

    List<String> states = new ArrayList<>();
    get("/jobs/overview").get("jobs").forEach(j -> states.add(j.get("state").asText()));
    assertThat("every job on the cluster", states, everyItem(equalTo("FINISHED")));
  }

  /**
   * {@code scripts/run PIPELINE --flinkMaster=HOST:PORT <connection> ARGS}: must exit 0, add FINISHED
   * jobs to the cluster and write a SUCCEEDED report (returned).
   */
  static JsonNode submit(String pipeline, String... args) throws Exception {
    return submitWith(Arrays.asList(DB.connectionArgs()), pipeline, args);
  }

  /** Row count and an order-independent hash of every row's text. */
  static String tableDigest(Connection c, String table) throws Exception {
    try (var st = c.createStatement();
        var rs = st.executeQuery("SELECT count(*), coalesce(sum(hashtextextended(x::text, 11)), 0) FROM " + table + " x")) {
      rs.next();
      return rs.getLong(1) + "/" + rs.getString(2);
    }
  }

  /** {@link #submit} with the pipeline's own connection options (e.g. promote's source and target). */
  static JsonNode submitWith(List<String> connection, String pipeline, String... args) throws Exception {
    Map<String, String> before = jobStates();
    Path report = reports.resolve(pipeline + ".json");
    Files.deleteIfExists(report);
    List<String> cmd = new ArrayList<>(List.of(ROOT.resolve("scripts/run").toString(), pipeline,
        "--flinkMaster=" + master, "--parallelism=2", "--reportFile=" + report));
    cmd.addAll(connection);
    cmd.addAll(Arrays.asList(args));
    long t0 = System.nanoTime();
    Result r = script(STEP_TIMEOUT, cmd.toArray(new String[0]));
    System.out.printf("%s on the cluster: exit %d in %.1f s%n%s%n", pipeline, r.exitCode,
        (System.nanoTime() - t0) / 1e9, r.output);
    assertEquals(pipeline + " failed on the cluster:\n" + r.output, 0, r.exitCode);

    Map<String, String> after = jobStates();
    after.keySet().removeAll(before.keySet());
    assertThat(pipeline + ": new jobs on the cluster", after.keySet(), not(empty()));
    assertThat(pipeline + ": states of its jobs " + after, after.values(), everyItem(equalTo("FINISHED")));

    JsonNode rep = JSON.readTree(report.toFile());
    assertEquals(pipeline, rep.get("pipeline").asText());
    assertEquals("SUCCEEDED", rep.get("status").asText());
    assertEquals("FlinkRunner", rep.get("runner").asText());
    assertEquals(0, rep.get("exitCode").asInt());
    return rep;
  }

  /** jid → state of every job the cluster knows. */
  static Map<String, String> jobStates() throws Exception {
    Map<String, String> m = new LinkedHashMap<>();
    get("/jobs/overview").get("jobs").forEach(j -> m.put(j.get("jid").asText(), j.get("state").asText()));
    return m;
  }

  static JsonNode get(String path) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create("http://" + master + path))
        .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals("GET " + path + ": " + r.body(), 200, r.statusCode());
    return JSON.readTree(r.body());
  }

  /** A script with the test cluster's state directory (not the developer's .flink-cluster/). */
  static Result script(Duration timeout, String... cmd) throws IOException, InterruptedException {
    return Scripts.run(timeout, Map.of("FLINK_CLUSTER_DIR", stateDir.toString()), Arrays.asList(cmd));
  }
}
