package org.warehouse.transforms.datasus;

/**
 * One field descriptor of a DBF header.
 *
 * @param name the field name as stored (up to 10 characters, NUL padding removed)
 * @param type the type letter (DATASUS files use C, character, throughout)
 * @param length width in bytes
 * @param decimals decimal places (numeric types)
 * @param offset position of the field's first byte in the record, whose byte 0 is the deletion flag
 */
public record DbfField(String name, char type, int length, int decimals, int offset) {}
