package org.warehouse.pipelines.common;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Beam's complaints about a command line, said in the launcher's words: one line, the option named. */
public final class CommandLineErrors {
  private CommandLineErrors() {}

  private static final Pattern MISSING_PROPERTY = Pattern.compile("missing a property named '([^']+)'");
  private static final Pattern BEAM_SUGGESTION = Pattern.compile("Did you mean '([^']+)'\\?");

  /** The property of Beam's "missing a property named 'X'" when X is one of FlinkPipelineOptions', else null. */
  public static String flinkOnlyFlag(String message) {
    Matcher m = MISSING_PROPERTY.matcher(String.valueOf(message));
    if (!m.find()) {
      return null;
    }
    String getter = "get" + Character.toUpperCase(m.group(1).charAt(0)) + m.group(1).substring(1);
    try {
      Class<?> flink = Class.forName("org.apache.beam.runners.flink.FlinkPipelineOptions");
      for (Method g : flink.getMethods()) {
        if (g.getName().equals(getter) || g.getName().equals("is" + getter.substring(3))) {
          return m.group(1);
        }
      }
    } catch (ClassNotFoundException e) {
      // no Flink runner in this jar
    }
    return null;
  }

  /** Beam's complaint about the command line, said in the launcher's words where we know better. */
  public static String optionsError(String message, Command<?> command, String[] args) {
    String flinkFlag = flinkOnlyFlag(message);
    if (flinkFlag != null) {
      return "--" + flinkFlag + " is a Flink runner option, and this run uses the DirectRunner (add --runner=FlinkRunner)";
    }
    String unknown = unknownOption(message, command);
    if (unknown != null) {
      return unknown;
    }
    if (String.valueOf(message).contains("Unknown 'runner' specified 'FlinkRunner'")
        && Arrays.stream(args).noneMatch(s -> s.startsWith("--runner="))) {
      return "this jar has no Flink runner, the default for " + command.name() + ": add --runner=DataflowRunner "
          + "(with --project, --region, …) or --runner=DirectRunner";
    }
    return missingRequired(oneLine(message));
  }

  /**
   * "unknown option --X for PIPELINE", with the pipeline's own options that X is close to (one contains
   * the other, or at most 2 edits apart), for Beam's "Class interface …Options missing a property named
   * 'X'"; null for any other message.
   */
  public static String unknownOption(String message, Command<?> command) {
    Matcher m = MISSING_PROPERTY.matcher(String.valueOf(message));
    if (!m.find()) {
      return null;
    }
    String given = m.group(1);
    String g = given.toLowerCase(Locale.ROOT);
    List<String> close = new ArrayList<>();
    for (String o : OptionsHelp.ownOptions(command.optionsClass()).keySet()) {
      String l = o.toLowerCase(Locale.ROOT);
      if (l.contains(g) || g.contains(l) || editDistance(l, g) <= 2) {
        close.add("--" + o);
      }
    }
    String text = "unknown option --" + given + " for " + command.name();
    if (close.isEmpty()) {
      Matcher beams = BEAM_SUGGESTION.matcher(message); // Beam's guess among runner options (--runnner → --runner)
      return beams.find() ? text + " (did you mean --" + beams.group(1) + "?)" : text;
    }
    return text + " (did you mean " + (close.size() == 1 ? close.get(0)
        : String.join(", ", close.subList(0, close.size() - 1)) + " or " + close.get(close.size() - 1)) + "?)";
  }

  private static final Pattern MISSING_REQUIRED = Pattern.compile(
      "Missing required value for \\[(?:(--\\w+)|[^\\]\"]*\\.(?:get|is)(\\w+)\\(\\)), \"([^\"]*)\"\\]\\.?");

  /**
   * Beam's "Missing required value for [--out, "Directory …"]." (or, when a runner checks its options,
   * "[public abstract … DataflowPipelineOptions.getProject(), "Project id. …"]") as "missing required
   * option --out (Directory …)"; any other message unchanged.
   */
  public static String missingRequired(String message) {
    Matcher m = MISSING_REQUIRED.matcher(message);
    if (!m.find()) {
      return message;
    }
    String option = m.group(1) != null ? m.group(1) : "--" + java.beans.Introspector.decapitalize(m.group(2));
    return "missing required option " + option + " (" + m.group(3) + ")";
  }

  private static int editDistance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        cur[j] = Math.min(sub, Math.min(prev[j], cur[j - 1]) + 1);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /** The first line of {@code s}, stripped; "(no message)" for null. */
  public static String oneLine(String s) {
    if (s == null) {
      return "(no message)";
    }
    String line = s.strip();
    int nl = line.indexOf('\n');
    return nl < 0 ? line : line.substring(0, nl);
  }
}
