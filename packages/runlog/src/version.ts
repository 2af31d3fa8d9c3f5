/**
 * Schema versions written by this release. A version is bumped only for a breaking change (a field
 * removed, renamed or retyped, or a meaning changed); adding an optional field is not breaking and
 * keeps the version. Readers accept every version up to the one they know and reject newer ones with
 * a message that says to upgrade `@bmp/runlog`.
 */

/** `v` of every `metrics.jsonl` record. */
export const METRICS_SCHEMA_VERSION = 1;
/** `schemaVersion` of `config.json`. */
export const CONFIG_SCHEMA_VERSION = 1;
/** `schemaVersion` of `analysis.json`. */
export const ANALYSIS_SCHEMA_VERSION = 1;
