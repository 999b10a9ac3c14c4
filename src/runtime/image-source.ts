// What the runtime needs from an image store: a container's rootfs and its image's config.
// src/runtime/images' ImageStore satisfies it; tests use a tiny busybox rootfs instead.

/** The parts of an OCI image config (config.config) a container's process is made from. */
export interface ImageProcessConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
}

/** A container's mounted root filesystem. */
export interface MountedRootfs {
  /** The directory the rootfs is mounted on (the OCI spec's root.path). */
  target: string;
  /** The image id the rootfs was made from (ContainerStatus.image_ref), when known. */
  imageId?: string;
}

export interface ImageSource {
  /** Mounts (or re-mounts, idempotently) the rootfs of containerId made from imageRef. */
  mountRootfs(imageRef: string, containerId: string): Promise<MountedRootfs>;
  /** Unmounts the container's rootfs; a no-op when it is not mounted. */
  unmountRootfs(containerId: string): Promise<void>;
  /** Unmounts and deletes the rootfs and its writable layer (RemoveContainer); optional. */
  removeRootfs?(containerId: string): Promise<void>;
  /** The image's process config; throws when the image is unknown. */
  imageConfig(imageRef: string): ImageProcessConfig | Promise<ImageProcessConfig>;
}
