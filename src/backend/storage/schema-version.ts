/**
 * The version of the storage schema this code writes, shared by every store. A node
 * migrates an older database up to it at start and refuses a newer one (docs/storage.md).
 */
export const SCHEMA_VERSION = 3;
