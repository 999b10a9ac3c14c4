// Structural schemas: what kube-apiserver does with a CRD's openAPIV3Schema
// (structurality checks, validation, pruning, defaulting) and unknown-field
// detection for the built-in kinds' schemas.
export { checkDefaults, checkStructural, unsupportedSchemaFeatures } from './check.ts';
export { applySchemaDefaults } from './defaults.ts';
export { causeString, formatValue } from './errors.ts';
export {
  findUnknownFields, pruneNonNullableNulls, pruneUnknownFields, strictDecodingError, unknownFieldWarning,
} from './prune.ts';
export type { PruneOptions } from './prune.ts';
export { validateAgainstSchema } from './validate.ts';
export type { ValidateOptions } from './validate.ts';
