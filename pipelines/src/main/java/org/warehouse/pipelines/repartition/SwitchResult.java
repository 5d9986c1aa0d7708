package org.warehouse.pipelines.repartition;

/**
 * What happened under the switch's ACCESS EXCLUSIVE lock.
 *
 * @param lastDelta keys applied by the last catch-up round (online; 0 offline)
 * @param changedKeys keys changed since the pre-switch verification, verified under the lock (online)
 * @param changedRows the original's rows of those keys
 * @param lockWaitNanos time spent waiting for the lock (writers queue behind it meanwhile)
 * @param writersBlockedNanos the longest time writers were blocked by the run (online: the switch,
 *     or the capture trigger's creation if longer; offline: from the SHARE lock to the commit)
 */
public record SwitchResult(long lastDelta, long changedKeys, long changedRows, long lockWaitNanos,
    long writersBlockedNanos) {}
