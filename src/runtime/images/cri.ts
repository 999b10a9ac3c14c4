// The CRI ImageService over an ImageStore: what kubelet's image manager calls.
// https://github.com/kubernetes/cri-api/blob/master/pkg/apis/runtime/v1/api.proto
import { Code, CriError } from '../../cri/errors.ts';
import type { ImageServiceHandlers } from '../../cri/server.ts';
import type { Image } from '../../cri/types.ts';
import { InvalidReferenceError } from './reference.ts';
import { DigestMismatchError } from './blobs.ts';
import { RegistryError } from './registry.ts';
import type { ImageRecord, ImageStore } from './store.ts';

/** An image as CRI reports it: id is the config digest; uid or username comes from the config's User. */
export function toCriImage(image: ImageRecord): Image {
  const user = (image.config.User ?? '').split(':')[0]!;
  const numeric = /^\d+$/.test(user);
  return {
    id: image.id,
    repo_tags: image.repoTags,
    repo_digests: image.repoDigests,
    size: image.size,
    uid: numeric ? { value: Number(user) } : user === '' ? { value: 0 } : null,
    username: numeric ? '' : user,
    spec: { image: image.id, annotations: {}, user_specified_image: '', runtime_handler: '', image_ref: image.id },
    pinned: image.pinned,
  };
}

export function imageServiceHandlers(store: ImageStore): ImageServiceHandlers {
  return {
    listImages: (req) => ({ images: store.list(req.filter?.image?.image).map(toCriImage) }),
    imageStatus: (req) => {
      const image = store.status(req.image?.image ?? '');
      // An absent image is not an error: kubelet expects image: null.
      return { image: image ? toCriImage(image) : null, info: {} };
    },
    pullImage: async (req) => {
      const ref = req.image?.image;
      if (!ref) throw new CriError(Code.INVALID_ARGUMENT, 'PullImage: image.image is required');
      try {
        const image = await store.pull(ref, req.auth);
        return { image_ref: image.id };
      } catch (err) {
        if (err instanceof InvalidReferenceError) throw new CriError(Code.INVALID_ARGUMENT, err.message);
        if (err instanceof RegistryError && err.status === 404) throw new CriError(Code.NOT_FOUND, err.message);
        if (err instanceof RegistryError && (err.status === 401 || err.status === 403)) {
          throw new CriError(Code.PERMISSION_DENIED, err.message);
        }
        if (err instanceof RegistryError || err instanceof DigestMismatchError) throw new CriError(Code.UNKNOWN, err.message);
        throw err;
      }
    },
    removeImage: async (req) => {
      await store.remove(req.image?.image ?? '');
      return {};
    },
    imageFsInfo: async () => {
      const usage = await store.fsInfo();
      return {
        image_filesystems: [{
          timestamp: Date.now() * 1e6,
          fs_id: { mountpoint: usage.mountpoint },
          used_bytes: { value: usage.usedBytes },
          inodes_used: { value: usage.inodesUsed },
        }],
        container_filesystems: [],
      };
    },
  };
}
