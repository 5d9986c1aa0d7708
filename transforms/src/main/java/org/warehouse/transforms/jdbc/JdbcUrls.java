package org.warehouse.transforms.jdbc;

import java.util.Locale;
import java.util.regex.Pattern;

/** Secrets in JDBC URLs: found (to refuse such URLs) and redacted (in every message and report). */
public final class JdbcUrls {
  private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)(password=)[^&\\s'\"]*");
  private static final Pattern USERINFO = Pattern.compile("(//[^/:@\\s'\"]*:)[^@/\\s'\"]*@");

  private JdbcUrls() {}

  /** {@code text} with every {@code password=…} parameter and {@code user:password@} part as {@code ***}. */
  public static String redact(String text) {
    if (text == null) {
      return null;
    }
    return USERINFO.matcher(PASSWORD_PARAM.matcher(text).replaceAll("$1***")).replaceAll("$1***@");
  }

  /** What secret {@code url} carries ("a password= parameter", "a user:password@ part"), or null. */
  public static String secretIn(String url) {
    if (url == null) {
      return null;
    }
    if (url.toLowerCase(Locale.ROOT).contains("password=")) {
      return "a password= parameter";
    }
    if (USERINFO.matcher(url).find()) {
      return "a user:password@ part";
    }
    return null;
  }
}
