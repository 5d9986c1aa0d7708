package org.warehouse.pipelines.promote;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;

import java.io.IOException;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.beam.sdk.testing.TestPipeline;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;
import org.postgresql.PGConnection;
import org.warehouse.pipelines.promote.targetdb.BulkLoader;
import org.warehouse.testing.TestDatabase;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;
import org.warehouse.transforms.tablecopy.ReadTableRanges;
import org.warehouse.transforms.tablecopy.TableRange;

/**
 * promote's graph on {@link TestPipeline} with a loader that is no database at all (files): the graph
 * only knows the target through {@link BulkLoader}. The oracle is the source server's own {@code COPY
 * TO STDOUT} of the table, run by the test.
 */
public class CopyTablesTest {
  @Rule public final transient TestPipeline pipeline = TestPipeline.create();
  @Rule public final TestDatabase source = new TestDatabase();
  @Rule public final TemporaryFolder tmp = new TemporaryFolder();

  /** Appends every load to a new file named after the table: a target that is a directory. */
  static final class FileLoader implements BulkLoader {
    private static final long serialVersionUID = 1L;
    private final String dir;

    FileLoader(String dir) {
      this.dir = dir;
    }

    @Override
    public Session open(String applicationName) {
      return new Session() {
        @Override
        public void load(TableRef table, String copyText) throws SQLException {
          try {
            Files.writeString(Path.of(dir, table.name() + "." + UUID.randomUUID()), copyText,
                StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW);
          } catch (IOException e) {
            throw new SQLException(e);
          }
        }

        @Override
        public void close() {}
      };
    }
  }

  @Test
  public void everyRowOfEveryRangeReachesTheLoaderOnceAsTheSourceRendersIt() throws Exception {
    try (Connection c = source.connect();
        Connection snapshotHolder = source.connect()) {
      Db.execute(c, "CREATE TABLE agg_t (id int PRIMARY KEY, label text, x double precision)");
      Db.execute(c, "INSERT INTO agg_t SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'l' || g || E'\\t\\\\\\n' END, "
          + "g / 3.0 FROM generate_series(1, 2000) g");
      Db.execute(c, "ANALYZE agg_t");
      TableRef t = TableRef.of("public", "agg_t");
      long pages = Db.queryLong(c, "SELECT relpages FROM pg_class WHERE oid = 'agg_t'::regclass");
      PromotePlan.Table table = new PromotePlan.Table(t, t, Category.AGGREGATE, pages, 2000);
      List<TableRange> ranges = PromotePlan.ranges(List.of(new PromotePlan.Copy(table, TableDefinition.read(c, t),
          t.withName("agg_t__staging_test01"))), ReadTableRanges.Mode.COPY, 300);
      assertThat(ranges.size(), greaterThan(1));
      snapshotHolder.setAutoCommit(false);
      Db.execute(snapshotHolder, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      String snapshot = Db.queryString(snapshotHolder, "SELECT pg_export_snapshot()");

      CopyTables.build(pipeline, ranges, source.config(), ReadTableRanges.Mode.COPY, snapshot,
          new FileLoader(tmp.getRoot().toString()));
      pipeline.run().waitUntilFinish();

      List<String> loaded = loadedLines();
      List<String> expected = oracle(c);
      assertThat("rows loaded", loaded.size(), equalTo(expected.size()));
      assertThat(loaded, equalTo(expected));
    }
  }

  List<String> loadedLines() throws IOException {
    List<String> lines = new ArrayList<>();
    try (Stream<Path> files = Files.list(tmp.getRoot().toPath())) {
      for (Path f : files.toList()) {
        assertThat(f.getFileName().toString(), f.getFileName().toString().startsWith("agg_t__staging_test01."),
            equalTo(true));
        lines.addAll(Files.readString(f, StandardCharsets.UTF_8).lines().toList());
      }
    }
    Collections.sort(lines);
    return lines;
  }

  static List<String> oracle(Connection c) throws Exception {
    Db.execute(c, org.warehouse.transforms.tablecopy.TableChecksum.SESSION_SETTINGS);
    Writer w = new StringWriter();
    c.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY agg_t TO STDOUT", w);
    List<String> lines = new ArrayList<>(w.toString().lines().toList());
    Collections.sort(lines);
    return lines;
  }
}
