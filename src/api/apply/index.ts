// Server-side apply and managedFields tracking.
export { serverSideApply, type ApplyOptions } from './apply.ts';
export { trackUpdate, type TrackOptions } from './track.ts';
export { ApplyConflictError, ApplyError, type ApplyConflict, type ApplyStatus } from './errors.ts';
export type { FieldManagerOptions } from './updater.ts';
export { LAST_APPLIED_ANNOTATION } from './lastapplied.ts';
export {
  type FieldSet, type FieldsV1, fromFieldsV1, toFieldsV1, listPaths, pathString,
} from './fieldset.ts';
export { toFieldSet } from './fieldsof.ts';
