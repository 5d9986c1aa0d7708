package org.warehouse.pipelines.common;

/** Bad command-line usage: the launcher prints the message and exits 2. */
public class UsageException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
