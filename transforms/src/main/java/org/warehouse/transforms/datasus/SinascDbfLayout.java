package org.warehouse.transforms.datasus;

import java.util.List;

/**
 * The SINASC .dbf layout DATASUS has published since 2019: 61 character fields (names and widths as in
 * the DN*.dbc files of that year). The generator writes it; readers find fields by name, so other years'
 * layouts (21, 26, 55 fields...) are read the same way.
 */
public final class SinascDbfLayout {
  private static final String[] NAMES = {
    "ORIGEM", "CODESTAB", "CODMUNNASC", "LOCNASC", "IDADEMAE", "ESTCIVMAE", "ESCMAE", "CODOCUPMAE", "QTDFILVIVO",
    "QTDFILMORT", "CODMUNRES", "GESTACAO", "GRAVIDEZ", "PARTO", "CONSULTAS", "DTNASC", "HORANASC", "SEXO",
    "APGAR1", "APGAR5", "RACACOR", "PESO", "IDANOMAL", "DTCADASTRO", "CODANOMAL", "NUMEROLOTE", "VERSAOSIST",
    "DTRECEBIM", "DIFDATA", "DTRECORIGA", "NATURALMAE", "CODMUNNATU", "CODUFNATU", "ESCMAE2010", "SERIESCMAE",
    "DTNASCMAE", "RACACORMAE", "QTDGESTANT", "QTDPARTNOR", "QTDPARTCES", "IDADEPAI", "DTULTMENST", "SEMAGESTAC",
    "TPMETESTIM", "CONSPRENAT", "MESPRENAT", "TPAPRESENT", "STTRABPART", "STCESPARTO", "TPNASCASSI", "TPFUNCRESP",
    "TPDOCRESP", "DTDECLARAC", "ESCMAEAGR1", "STDNEPIDEM", "STDNNOVA", "CODPAISRES", "TPROBSON", "PARIDADE",
    "KOTELCHUCK", "CONTADOR"
  };

  private static final int[] WIDTHS = {
    1, 7, 7, 1, 2, 1, 1, 6, 2, 2, 7, 1, 1, 1, 1, 8, 5, 1, 2, 2, 1, 4, 1, 8, 20, 8, 7, 8, 8, 8, 3, 7, 2, 1, 1, 8, 1,
    2, 2, 2, 2, 8, 2, 2, 2, 2, 2, 1, 1, 2, 1, 1, 8, 2, 1, 1, 3, 2, 10, 1, 8
  };

  /** The 61 fields, in file order (record length 224 with the deletion flag). */
  public static final List<DbfField> FIELDS_2019 = DbcWriter.characterFields(List.of(NAMES), WIDTHS);

  private SinascDbfLayout() {}

  /** Index of a field of {@link #FIELDS_2019}; IllegalArgumentException when it has none of that name. */
  public static int index(String name) {
    for (int i = 0; i < NAMES.length; i++) {
      if (NAMES[i].equals(name)) {
        return i;
      }
    }
    throw new IllegalArgumentException("the 2019 SINASC layout has no field " + name);
  }
}
