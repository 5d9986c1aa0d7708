package org.warehouse.cluster;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.warehouse.testing.TestDatabase;

/** Runs the project's scripts as a user or a scheduler would: a process, its output and exit code. */
final class Scripts {
  static final Path ROOT = TestDatabase.repoRoot();
  static final Path JAR = ROOT.resolve("runners/flink/target/warehouse-pipelines-flink.jar");

  private Scripts() {}

  /** Runs {@code cmd} in the project root with {@code env} added; kills it (and its children) on timeout. */
  static Result run(Duration timeout, Map<String, String> env, List<String> cmd) throws IOException, InterruptedException {
    File out = File.createTempFile("scripts-test", ".out");
    try {
      ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
          .redirectOutput(out).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
      pb.environment().put("WH_NO_BUILD", "1");       // the reactor built the jar before this module
      pb.environment().put("WH_JAVA_OPTS", "-Xmx1g"); // small runs only
      pb.environment().putAll(env);
      Process p = pb.start();
      if (!p.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        return new Result(-1, read(out) + "\n(timed out after " + timeout + ")");
      }
      return new Result(p.exitValue(), read(out));
    } finally {
      Files.deleteIfExists(out.toPath());
    }
  }

  /** Starts {@code cmd} in the project root with {@code env} added, output to {@code out}; the caller waits or kills. */
  static Process start(Map<String, String> env, List<String> cmd, File out) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(ROOT.toFile()).redirectErrorStream(true)
        .redirectOutput(out).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    pb.environment().put("WH_NO_BUILD", "1");
    pb.environment().put("WH_JAVA_OPTS", "-Xmx1g");
    pb.environment().putAll(env);
    return pb.start();
  }

  private static String read(File f) throws IOException {
    return Files.readString(f.toPath(), StandardCharsets.UTF_8);
  }

  /** Exit code and combined stdout+stderr of one process. */
  static final class Result {
    final int exitCode;
    final String output;

    Result(int exitCode, String output) {
      this.exitCode = exitCode;
      this.output = output;
    }

    String lastLine() {
      String[] lines = output.strip().split("\n");
      return lines[lines.length - 1].strip();
    }

    @Override
    public String toString() {
      return "exit " + exitCode + ":\n" + output;
    }
  }
}
