package org.warehouse.transforms.births;

import java.io.Serializable;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.coders.RowCoder;
import org.apache.beam.sdk.schemas.Schema;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.PBegin;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.Row;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * The IBGE dimensions (municipality → state → region) as lookup structures, built from the three
 * dimension tables (read on the driver, in the run's snapshot) passed as side inputs. Municipality lookups by the 6-digit DATASUS code go through
 * a flat array: they happen once per fact row.
 */
public final class Dimensions {
  public static final String REGIONS = "dim_ibge_id_regions";
  public static final String STATES = "dim_ibge_id_states";
  public static final String MUNICIPALITIES = "dim_ibge_id_municipalities";

  public static final List<String> REGION_COLUMNS = List.of("region_code", "region_name");
  public static final List<String> STATE_COLUMNS = List.of("state_code", "state_abbr", "state_name", "region_code");
  public static final List<String> MUNICIPALITY_COLUMNS =
      List.of("municipality_code", "municipality_code6", "municipality_name", "state_code");

  private static final int CODE6_LIMIT = 1_000_000;

  /** The side-input views of the three dimension tables. */
  public static final class Views implements Serializable {
    private static final long serialVersionUID = 1L;
    public final PCollectionView<List<Row>> regions;
    public final PCollectionView<List<Row>> states;
    public final PCollectionView<List<Row>> municipalities;

    Views(PCollectionView<List<Row>> regions, PCollectionView<List<Row>> states,
        PCollectionView<List<Row>> municipalities) {
      this.regions = regions;
      this.states = states;
      this.municipalities = municipalities;
    }
  }

  static final Schema REGION_SCHEMA =
      Schema.builder().addInt32Field("region_code").addStringField("region_name").build();
  static final Schema STATE_SCHEMA =
      Schema.builder().addInt32Field("state_code").addStringField("state_abbr").addStringField("state_name")
          .addInt32Field("region_code").build();
  static final Schema MUNICIPALITY_SCHEMA =
      Schema.builder().addInt32Field("municipality_code").addInt32Field("municipality_code6")
          .addStringField("municipality_name").addInt32Field("state_code").build();

  /** The rows of the three dimension tables, read on the driver (in the run's snapshot). */
  public record Rows(List<Row> regions, List<Row> states, List<Row> municipalities) {
    /** The state codes the states table has. */
    public Set<Integer> stateCodes() {
      Set<Integer> codes = new HashSet<>();
      for (Row s : states) {
        codes.add(s.getInt32("state_code"));
      }
      return codes;
    }
  }

  /** Reads the three dimension tables of {@code schema} on {@code c} (small: a few thousand rows). */
  public static Rows load(Connection c, String schema) throws SQLException {
    return new Rows(load(c, REGION_SCHEMA, TableRef.of(schema, REGIONS)), load(c, STATE_SCHEMA, TableRef.of(schema, STATES)),
        load(c, MUNICIPALITY_SCHEMA, TableRef.of(schema, MUNICIPALITIES)));
  }

  private static List<Row> load(Connection c, Schema schema, TableRef table) throws SQLException {
    List<String> cols = new ArrayList<>();
    for (Schema.Field f : schema.getFields()) {
      cols.add(f.getName() + (isInt(f) ? "::int" : "::text"));
    }
    List<Row> rows = new ArrayList<>();
    try (Statement st = c.createStatement();
        ResultSet rs = st.executeQuery("SELECT " + String.join(", ", cols) + " FROM " + table.quoted())) {
      while (rs.next()) {
        Row.Builder b = Row.withSchema(schema);
        for (int i = 0; i < schema.getFieldCount(); i++) {
          b.addValue(isInt(schema.getField(i)) ? (Object) rs.getInt(i + 1) : rs.getString(i + 1));
        }
        rows.add(b.build());
      }
    }
    return rows;
  }

  private static boolean isInt(Schema.Field f) {
    return f.getType().getTypeName() == Schema.TypeName.INT32;
  }

  /** The rows as the pipeline's side inputs. */
  public static Views views(PBegin begin, Rows rows) {
    return new Views(view(begin, "Regions", REGION_SCHEMA, rows.regions()),
        view(begin, "States", STATE_SCHEMA, rows.states()),
        view(begin, "Municipalities", MUNICIPALITY_SCHEMA, rows.municipalities()));
  }

  private static PCollectionView<List<Row>> view(PBegin begin, String name, Schema schema, List<Row> rows) {
    return begin
        .apply(name, Create.of(rows).withCoder(RowCoder.of(schema)))
        .setRowSchema(schema)
        .apply(name + "View", View.asList());
  }

  private final int[] code7ByCode6 = new int[CODE6_LIMIT];
  private final int[] stateByCode6 = new int[CODE6_LIMIT];
  private final int[] regionByState = new int[100];
  private final String[] stateAbbr = new String[100];
  private final String[] stateName = new String[100];
  private final Map<Integer, String> regionName = new HashMap<>();
  private final Map<Integer, String> municipalityName = new HashMap<>();
  private final Map<Integer, Integer> municipalityState = new HashMap<>();

  public Dimensions(List<Row> regions, List<Row> states, List<Row> municipalities) {
    for (Row r : regions) {
      regionName.put(r.getInt32("region_code"), r.getString("region_name"));
    }
    for (Row s : states) {
      int code = s.getInt32("state_code");
      if (code <= 0 || code >= 100) {
        throw new IllegalArgumentException(STATES + ": state_code " + code + " is not a 2-digit code");
      }
      regionByState[code] = s.getInt32("region_code");
      stateAbbr[code] = s.getString("state_abbr");
      stateName[code] = s.getString("state_name");
    }
    // A code the municipality table does not know still has a state when its first two digits name one.
    for (int c = 0; c < CODE6_LIMIT; c++) {
      int st = c / 10_000;
      stateByCode6[c] = c >= 100_000 && stateAbbr[st] != null ? st : 0;
    }
    for (Row m : municipalities) {
      int code7 = m.getInt32("municipality_code");
      int code6 = m.getInt32("municipality_code6");
      int state = m.getInt32("state_code");
      if (code6 >= 0 && code6 < CODE6_LIMIT) {
        code7ByCode6[code6] = code7;
        stateByCode6[code6] = state;
      }
      municipalityName.put(code7, m.getString("municipality_name"));
      municipalityState.put(code7, state);
    }
  }

  /** The 7-digit IBGE code for a 6-digit DATASUS code, or 0 when no municipality has it. */
  public int code7(int code6) {
    return code6 >= 0 && code6 < CODE6_LIMIT ? code7ByCode6[code6] : 0;
  }

  /** The state of a 6-digit code (from the municipality, else its first two digits), or 0. */
  public int state(int code6) {
    return code6 >= 0 && code6 < CODE6_LIMIT ? stateByCode6[code6] : 0;
  }

  /** The region of a state, or 0. */
  public int region(int state) {
    return state > 0 && state < 100 ? regionByState[state] : 0;
  }

  public String regionName(int region) {
    return regionName.get(region);
  }

  public String stateAbbr(int state) {
    return stateAbbr[state];
  }

  public String stateName(int state) {
    return stateName[state];
  }

  public String municipalityName(int code7) {
    return municipalityName.get(code7);
  }

  public int municipalityState(int code7) {
    return municipalityState.get(code7);
  }
}
