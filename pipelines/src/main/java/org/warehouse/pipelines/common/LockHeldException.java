package org.warehouse.pipelines.common;

/** Another run of the same pipeline holds the lock on the same target: the launcher exits 3. */
public class LockHeldException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public LockHeldException(String message) {
    super(message);
  }
}
