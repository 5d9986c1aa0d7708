package org.warehouse.pipelines.ingest;

import static org.hamcrest.MatcherAssert.assertThat;
import static org.hamcrest.Matchers.is;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.zip.GZIPInputStream;
import org.postgresql.PGConnection;
import org.warehouse.transforms.jdbc.Db;
import org.warehouse.transforms.jdbc.Sql;

/**
 * The independent oracle for ingest tests: PostgreSQL reads each file itself ({@code COPY} of the
 * raw lines, decoded by the server), then splits and types the lines in SQL with the documented
 * rules. Only the file_id is taken from the ledger (it is an assigned key, not a computed value).
 */
final class IngestOracle {
  private IngestOracle() {}

  /** Creates the oracle tables and function in {@code schema}. */
  static void create(Connection c, String schema) throws SQLException {
    String s = Sql.quoteIdent(schema);
    Db.execute(c, "CREATE TABLE " + s + ".oracle_lines (file_name text, line_number bigint, line text)");
    Db.execute(c, "CREATE FUNCTION " + s + ".oracle_date(t text) RETURNS date LANGUAGE plpgsql IMMUTABLE AS $$ "
        + "BEGIN IF t !~ '^\\d{8}$' OR substr(t, 5, 4)::int NOT BETWEEN 1900 AND 2100 THEN RETURN NULL; END IF; "
        + "RETURN make_date(substr(t, 5, 4)::int, substr(t, 3, 2)::int, substr(t, 1, 2)::int); "
        + "EXCEPTION WHEN others THEN RETURN NULL; END $$");
  }

  /** The server reads the file's bytes (gunzipped here when *.gz) as lines in the given encoding. */
  static void addFile(Connection c, String schema, Path file, String pgEncoding) throws Exception {
    byte[] bytes = Files.readAllBytes(file);
    if (file.toString().endsWith(".gz")) {
      try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(bytes))) {
        bytes = in.readAllBytes();
      }
    }
    Db.execute(c, "DROP TABLE IF EXISTS pg_temp.raw_file");
    Db.execute(c, "CREATE TEMP TABLE raw_file (n bigserial, line text)");
    c.unwrap(PGConnection.class).getCopyAPI().copyIn(
        "COPY pg_temp.raw_file (line) FROM STDIN WITH (FORMAT text, ENCODING '" + pgEncoding + "')",
        new ByteArrayInputStream(bytes));
    Db.execute(c, "INSERT INTO " + Sql.quoteIdent(schema) + ".oracle_lines SELECT " + Sql.literal(
        file.getFileName().toString()) + ", n, line FROM pg_temp.raw_file WHERE n > 1");
  }

  /**
   * Types every line of the files the ledger says were loaded, with the generator's column layout:
   * 1 ORIGEM 2 CODESTAB 3 CODMUNNASC 4 LOCNASC 5 IDADEMAE 6 ESTCIVMAE 7 CODMUNRES 8 NOMEMUNRES
   * 9 SEMAGESTAC 10 PARTO 11 CONSPRENAT 12 DTNASC 13 SEXO 14 RACACOR 15 PESO.
   */
  static void build(Connection c, String schema) throws SQLException {
    String s = Sql.quoteIdent(schema);
    Db.execute(c, "DROP TABLE IF EXISTS " + s + ".oracle_split, " + s + ".oracle_good");
    Db.execute(c, "CREATE TABLE " + s + ".oracle_split AS SELECT file_name, line_number, line, file_id, "
        + "line <> '' AND cardinality(a) = 15 AND NOT EXISTS (SELECT 1 FROM unnest(a) x "
        + "  WHERE x !~ '^(\"[^\"]*\"|[^\"]*)$') AS splits, "
        + "trim(btrim(a[7], '\"')) AS codmunres, trim(btrim(a[12], '\"')) AS dtnasc, trim(btrim(a[13], '\"')) AS sexo, "
        + "trim(btrim(a[15], '\"')) AS peso, trim(btrim(a[9], '\"')) AS semagestac, trim(btrim(a[5], '\"')) AS idademae, "
        + "trim(btrim(a[10], '\"')) AS parto, trim(btrim(a[11], '\"')) AS consprenat, trim(btrim(a[2], '\"')) AS codestab "
        + "FROM (SELECT l.*, f.file_id, string_to_array(l.line, ';') AS a FROM " + s + ".oracle_lines l JOIN "
        + s + ".ingest_files f USING (file_name)) x");
    Db.execute(c, "ALTER TABLE " + s + ".oracle_split ADD COLUMN good boolean");
    Db.execute(c, "UPDATE " + s + ".oracle_split SET good = splits "
        + "AND codmunres ~ '^\\d{6,7}$' AND " + s + ".oracle_date(dtnasc) IS NOT NULL "
        + "AND (codestab = '' OR codestab ~ '^\\d{1,7}$') AND upper(sexo) IN ('', '0', '1', '2', 'M', 'F', 'I') "
        + "AND (peso = '' OR peso ~ '^\\d{1,4}$') "
        + "AND (semagestac = '' OR semagestac ~ '^\\d{1,2}$') AND (idademae = '' OR idademae ~ '^\\d{1,2}$') "
        + "AND (consprenat = '' OR consprenat ~ '^\\d{1,2}$') AND parto IN ('', '1', '2', '9')");
    Db.execute(c, "UPDATE " + s + ".oracle_split SET good = false WHERE good IS NULL");
    Db.execute(c, "CREATE TABLE " + s + ".oracle_good AS SELECT file_id * 1000000000 + line_number AS birth_id, "
        + s + ".oracle_date(dtnasc) AS birth_date, "
        + "CASE WHEN length(codmunres) = 7 THEN codmunres::int / 10 ELSE codmunres::int END AS residence_municipality_code, "
        + "nullif(codestab, '')::int AS cnes_code, "
        + "(CASE upper(sexo) WHEN '1' THEN 1 WHEN 'M' THEN 1 WHEN '2' THEN 2 WHEN 'F' THEN 2 WHEN '0' THEN 0 WHEN 'I' THEN 0 END)::smallint AS sex, "
        + "CASE WHEN peso = '' THEN NULL WHEN peso::int IN (0, 9999) THEN NULL ELSE peso::smallint END AS birth_weight_g, "
        + "nullif(nullif(semagestac, ''), '99')::smallint AS gestational_weeks, "
        + "CASE WHEN idademae = '' THEN NULL WHEN idademae::int IN (0, 99) THEN NULL ELSE idademae::smallint END AS mother_age, "
        + "nullif(parto, '')::smallint AS delivery_type, "
        + "nullif(nullif(consprenat, ''), '99')::smallint AS prenatal_visits, "
        + "NULL::smallint AS gestation_category, NULL::smallint AS prenatal_category "
        + "FROM " + s + ".oracle_split WHERE good");
  }

  /** The oracle of these Latin-1 files ({@link #addFile}, {@link #build}), then {@link #assertMatches}. */
  static void assertMatchesLatin1(Connection c, String schema, Path... files) throws Exception {
    for (Path f : files) {
      addFile(c, schema, f, "LATIN1");
    }
    build(c, schema);
    assertMatches(c, schema);
  }

  /** fact_births (ingested ids) = oracle_good and ingest_rejects = the oracle's bad lines, both ways. */
  static void assertMatches(Connection c, String schema) throws SQLException {
    String s = Sql.quoteIdent(schema);
    String cols = "birth_id, birth_date, residence_municipality_code, cnes_code, sex, birth_weight_g, "
        + "gestational_weeks, mother_age, delivery_type, prenatal_visits, gestation_category, prenatal_category";
    String fact = "SELECT " + cols + " FROM " + s + ".fact_births WHERE birth_id >= 1000000000";
    String good = "SELECT " + cols + " FROM " + s + ".oracle_good";
    assertThat("fact rows the oracle lacks", count(c, fact + " EXCEPT " + good), is(0L));
    assertThat("oracle rows fact_births lacks", count(c, good + " EXCEPT " + fact), is(0L));
    assertThat("no duplicate ids", Db.queryLong(c, "SELECT count(*) - count(DISTINCT birth_id) FROM " + s
        + ".fact_births"), is(0L));
    String rejects = "SELECT file_name, line_number::bigint, raw_line FROM " + s + ".ingest_rejects";
    String bad = "SELECT file_name, line_number, line FROM " + s + ".oracle_split WHERE NOT good";
    assertThat("rejects the oracle finds good", count(c, rejects + " EXCEPT " + bad), is(0L));
    assertThat("bad lines not in ingest_rejects", count(c, bad + " EXCEPT " + rejects), is(0L));
    assertThat("oracle found some good lines", Db.queryLong(c, "SELECT count(*) FROM " + s + ".oracle_good") > 0,
        is(true));
  }

  /**
   * bronze (through the view bronze_sinasc, which adds the file name from the ledger) = the raw fields
   * of every line the oracle could split, both ways (EXCEPT ALL).
   */
  static void assertBronzeMatches(Connection c, String schema) throws SQLException {
    String s = Sql.quoteIdent(schema);
    String cols = "codmunres, dtnasc, sexo, peso, semagestac, idademae, parto, consprenat, codestab";
    String bronze = "SELECT file_name, line_number::bigint, " + cols + " FROM " + s + ".bronze_sinasc";
    String split = "SELECT file_name, line_number, " + cols + " FROM " + s + ".oracle_split WHERE splits";
    assertThat("bronze rows the oracle lacks", count(c, bronze + " EXCEPT ALL " + split), is(0L));
    assertThat("oracle rows bronze lacks", count(c, split + " EXCEPT ALL " + bronze), is(0L));
    assertThat("every bronze row has its ledger row", Db.queryLong(c, "SELECT count(*) FROM " + s
        + ".bronze_sinasc_raw") - Db.queryLong(c, "SELECT count(*) FROM " + s + ".bronze_sinasc"), is(0L));
  }

  static long count(Connection c, String query) throws SQLException {
    return Db.queryLong(c, "SELECT count(*) FROM (" + query + ") q");
  }
}
