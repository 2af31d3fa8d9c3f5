// Structural types on purpose: naming tsup's `Options` here would make each package's tsup.config.ts
// infer a type from this folder's copy of tsup (TS2742, "not portable").
export function bmpLibraryConfig(overrides?: Record<string, unknown>): Record<string, unknown>;
