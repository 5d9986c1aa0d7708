package org.warehouse.pipelines.promote.targetdb;

import org.warehouse.transforms.jdbc.TableDefinition;
import org.warehouse.transforms.jdbc.TableRef;

/** A loaded and verified staging table, to be published as {@code target}. */
public record StagedTable(TableRef staging, TableRef target, TableDefinition definition) {}
