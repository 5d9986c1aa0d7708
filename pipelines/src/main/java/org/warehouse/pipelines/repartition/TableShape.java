package org.warehouse.pipelines.repartition;

import java.util.List;
import java.util.Map;
import org.warehouse.transforms.jdbc.TableRef;

/**
 * What the catalog says about the table to repartition (read by {@link CatalogReader}, checked there).
 *
 * @param columns the columns the copy writes (generated ones are computed again)
 * @param indexes index name → {@code USING btree (col)} tail, of the non-unique indexes
 * @param foreignKeys constraint name → definition, of the foreign keys the table has
 * @param ownedSequences quoted sequence → column, of the sequences owned by its columns (serial)
 * @param grants {@code GRANT … ON {table} TO …} statements
 * @param rowKey the key the online mode captures changes by; null when the table has none
 * @param totalBytes the table's heap, TOAST and indexes on disk ({@code pg_total_relation_size})
 * @param tablespace the table's tablespace when it has its own (the new table goes there too); null: the default
 */
public record TableShape(TableRef table, String column, ColumnKind kind, long oid, long estimatedRows, long pages,
    String owner, String comment, List<String> columns, List<UniqueKey> keys, Map<String, String> indexes,
    Map<String, String> foreignKeys, Map<String, String> ownedSequences, List<String> grants, RowKey rowKey,
    long totalBytes, String tablespace) {}
