package org.warehouse.transforms.jdbc;

/**
 * A failure whose message is meant for the person running the pipeline: it names the table, file
 * or line, what went wrong and what to do. The launcher prints it as the one-line cause (exit 1).
 */
public class WarehouseException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public WarehouseException(String message) {
    super(message);
  }

  public WarehouseException(String message, Throwable cause) {
    super(message, cause);
  }
}
