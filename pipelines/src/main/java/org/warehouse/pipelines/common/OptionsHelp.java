package org.warehouse.pipelines.common;

import java.beans.Introspector;
import java.io.PrintStream;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.options.Default;
import org.apache.beam.sdk.options.Description;
import org.apache.beam.sdk.options.PipelineOptions;
import org.apache.beam.sdk.options.Validation;

/** Prints a pipeline's own options (ours, not Beam's long list) with descriptions and defaults. */
public final class OptionsHelp {
  private OptionsHelp() {}

  /**
   * Prints the pipeline's options and the runner flags; {@code defaultRunner} is the runner a run
   * without --runner or --flinkMaster gets (the launcher's default for this pipeline).
   */
  public static void print(PrintStream out, Class<? extends PipelineOptions> options, String defaultRunner) {
    Map<String, Method> getters = ownOptions(options);
    out.println("options:");
    for (Map.Entry<String, Method> e : getters.entrySet()) {
      Method m = e.getValue();
      Description d = m.getAnnotation(Description.class);
      String type = m.getReturnType().getSimpleName();
      StringBuilder line = new StringBuilder("  --" + e.getKey() + "=<" + type + ">");
      String def = defaultOf(m);
      if (m.getAnnotation(Validation.Required.class) != null) {
        line.append("   (required)");
      } else if (def != null) {
        line.append("   (default: ").append(def).append(")");
      }
      out.println(line);
      if (d != null) {
        out.println("      " + d.value());
      }
    }
    out.println();
    out.println("runner options (Beam/Flink): --runner=FlinkRunner|DirectRunner (default " + defaultRunner + "),");
    out.println("  --flinkMaster=[local]|HOST:PORT (implies the FlinkRunner; [local]: the embedded mini-cluster),");
    out.println("  --parallelism=N (Flink; default: cores)");
  }

  /** The pipeline's own options (declared in org.warehouse interfaces): property name → getter, sorted. */
  public static Map<String, Method> ownOptions(Class<? extends PipelineOptions> options) {
    Map<String, Method> getters = new TreeMap<>();
    for (Method m : options.getMethods()) {
      if (!m.getDeclaringClass().getName().startsWith("org.warehouse.") || m.getParameterCount() != 0
          || m.isDefault() || java.lang.reflect.Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      String n = m.getName();
      String prop = n.startsWith("get") ? n.substring(3) : n.startsWith("is") ? n.substring(2) : null;
      if (prop != null) {
        getters.put(Introspector.decapitalize(prop), m);
      }
    }
    return getters;
  }

  private static String defaultOf(Method m) {
    for (Annotation a : m.getAnnotations()) {
      if (a instanceof Default.String) {
        return ((Default.String) a).value();
      } else if (a instanceof Default.Integer) {
        return String.valueOf(((Default.Integer) a).value());
      } else if (a instanceof Default.Long) {
        return String.valueOf(((Default.Long) a).value());
      } else if (a instanceof Default.Boolean) {
        return String.valueOf(((Default.Boolean) a).value());
      } else if (a instanceof Default.Double) {
        return String.valueOf(((Default.Double) a).value());
      } else if (a instanceof Default.Enum) {
        return ((Default.Enum) a).value();
      }
    }
    return null;
  }
}
