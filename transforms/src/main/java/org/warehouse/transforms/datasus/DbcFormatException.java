package org.warehouse.transforms.datasus;

import java.io.IOException;

/**
 * A .dbc or .dbf file that cannot be read as one: damaged, truncated or not of the format. The message is
 * one line that names the file and says what is wrong and what to do.
 */
public final class DbcFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public DbcFormatException(String message) {
    super(message);
  }
}
