// The runtime's image service: store, built-in busybox, import, pull, container rootfs mounts.
export { ImageStore, ImageNotFoundError } from './store.ts';
export type { ImageRecord, LayerRecord, RootfsInfo, ImageStoreOptions, FsUsage } from './store.ts';
export { imageServiceHandlers, toCriImage } from './cri.ts';
export { BUILTIN_IMAGE } from './builtin.ts';
export { normalizeReference, parseReference, InvalidReferenceError } from './reference.ts';
export type { ImageReference } from './reference.ts';
export type { ImageConfigBody } from './manifest.ts';
export type { RegistryAuth } from './registry.ts';
