// Images for containers, per imagePullPolicy, as kubelet's image manager pulls them: Always pulls
// at every container start, IfNotPresent only when missing, Never never. Failed pulls back off
// (10 s doubling to 5 min) and show as ErrImagePull, then ImagePullBackOff; credentials come from
// the pod's imagePullSecrets (kubernetes.io/dockerconfigjson and kubernetes.io/dockercfg).
// https://kubernetes.io/docs/concepts/containers/images/#image-pull-policy
// https://kubernetes.io/docs/tasks/configure-pod-container/pull-image-private-registry/
import type { Container, Pod, Secret } from 'kubernetes-types/core/v1.d.ts';
import type { CriClient } from '../cri/client.ts';
import type { AuthConfig, DeepPartial, PodSandboxConfig } from '../cri/types.ts';
import { isNotFound } from '../client/errors.ts';
import { R } from '../client/resources.ts';
import type { RestClient } from '../client/rest.ts';
import { BackOff } from './backoff.ts';

/**
 * Images under skiff.local/ are made by the Skiff runtime itself (skiff.local/busybox:latest is
 * built from the host's busybox): they exist only on the node and are never asked of a registry.
 */
export const LOCAL_ONLY_REGISTRY = 'skiff.local';

export type ImageResult =
  | { ok: true; imageRef: string }
  | { ok: false; reason: 'ErrImagePull' | 'ImagePullBackOff' | 'ErrImageNeverPull' | 'InvalidImageName'; message: string };

export interface ImageManagerOptions {
  cri: CriClient;
  client: RestClient;
  /** Records a Normal or Warning event about the pod (Pulling, Pulled, Failed, BackOff). */
  event: (pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string) => void;
}

/** The registry host of an image reference, as a docker config's auths keys name it. */
export function registryHost(image: string): string {
  const first = image.split('/')[0];
  if (image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return first;
  return 'docker.io';
}

/** The effective pull policy: the container's, else Always for :latest (or no tag) and IfNotPresent otherwise. */
export function pullPolicy(container: Container): 'Always' | 'IfNotPresent' | 'Never' {
  if (container.imagePullPolicy) return container.imagePullPolicy as 'Always' | 'IfNotPresent' | 'Never';
  const image = container.image ?? '';
  const lastPart = image.split('/').pop() ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  return !lastPart.includes(':') || lastPart.endsWith(':latest') ? 'Always' : 'IfNotPresent';
}

function normalizeHost(key: string): string {
  const host = key.replace(/^https?:\/\//, '').split('/')[0];
  return ['index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'].includes(host) ? 'docker.io' : host;
}

interface DockerAuthEntry { username?: string; password?: string; auth?: string; identitytoken?: string; registrytoken?: string }

/** Credentials for host from the pod's imagePullSecrets, in the order kubelet tries them. */
export async function pullCredentials(client: RestClient, pod: Pod, host: string): Promise<DeepPartial<AuthConfig>[]> {
  const out: DeepPartial<AuthConfig>[] = [];
  for (const ref of pod.spec?.imagePullSecrets ?? []) {
    if (!ref.name) continue;
    let secret: Secret;
    try {
      secret = await client.get<Secret>(R.secrets, ref.name, { namespace: pod.metadata?.namespace });
    } catch (e) {
      // kubelet goes on without a missing secret (and warns); a pull that needs it fails with the registry's answer.
      if (isNotFound(e)) continue;
      throw e;
    }
    const data = secret.data ?? {};
    let auths: Record<string, DockerAuthEntry> = {};
    try {
      if (secret.type === 'kubernetes.io/dockerconfigjson' && data['.dockerconfigjson']) {
        auths = (JSON.parse(Buffer.from(data['.dockerconfigjson'], 'base64').toString('utf8')) as { auths?: Record<string, DockerAuthEntry> }).auths ?? {};
      } else if (secret.type === 'kubernetes.io/dockercfg' && data['.dockercfg']) {
        auths = JSON.parse(Buffer.from(data['.dockercfg'], 'base64').toString('utf8')) as Record<string, DockerAuthEntry>;
      }
    } catch (e) {
      throw new Error(`imagePullSecret ${secret.metadata?.namespace}/${ref.name} is not valid JSON: ${(e as Error).message}`);
    }
    for (const [key, entry] of Object.entries(auths)) {
      if (normalizeHost(key) !== host) continue;
      let { username = '', password = '' } = entry;
      if (!username && entry.auth) {
        const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
        const i = decoded.indexOf(':');
        username = decoded.slice(0, i);
        password = decoded.slice(i + 1);
      }
      out.push({ username, password, server_address: key, identity_token: entry.identitytoken ?? '', registry_token: entry.registrytoken ?? '' });
    }
  }
  return out;
}

export class ImageManager {
  private readonly o: ImageManagerOptions;
  private readonly backoff = new BackOff(10_000, 300_000);

  constructor(o: ImageManagerOptions) {
    this.o = o;
  }

  /** Makes sure the container's image is on the node; the image ref to create the container from, or why not. */
  async ensureImage(pod: Pod, container: Container, sandbox: DeepPartial<PodSandboxConfig>): Promise<ImageResult> {
    const image = container.image ?? '';
    if (!image) return { ok: false, reason: 'InvalidImageName', message: `container ${container.name} has no image` };
    const policy = pullPolicy(container);
    const present = await this.present(image);
    const localOnly = image.startsWith(`${LOCAL_ONLY_REGISTRY}/`);
    if (present && (policy !== 'Always' || localOnly)) return { ok: true, imageRef: present };
    if (policy === 'Never') {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      this.o.event(pod, 'Warning', 'ErrImageNeverPull', message);
      return { ok: false, reason: 'ErrImageNeverPull', message };
    }
    const key = `${pod.metadata?.uid}/${image}`;
    if (this.backoff.isInBackOffSinceUpdate(key)) {
      const message = `Back-off pulling image "${image}"`;
      this.o.event(pod, 'Normal', 'BackOff', message);
      return { ok: false, reason: 'ImagePullBackOff', message };
    }
    this.o.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const started = Date.now();
    try {
      if (localOnly) {
        throw new Error(`${LOCAL_ONLY_REGISTRY} images are made by the Skiff runtime and never pulled from a registry, and this node's runtime has no "${image}"`);
      }
      const imageRef = await this.pull(pod, image, sandbox);
      this.backoff.forget(key);
      this.o.event(pod, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${((Date.now() - started) / 1000).toFixed(3)}s`);
      return { ok: true, imageRef };
    } catch (e) {
      this.backoff.next(key, Date.now());
      const message = `Failed to pull image "${image}": ${(e as Error).message}`;
      this.o.event(pod, 'Warning', 'Failed', message);
      return { ok: false, reason: 'ErrImagePull', message };
    }
  }

  /** The image's id when the runtime has it. */
  private async present(image: string): Promise<string | undefined> {
    const res = await this.o.cri.imageStatus({ image: { image } });
    return res.image?.id || undefined;
  }

  private async pull(pod: Pod, image: string, sandbox: DeepPartial<PodSandboxConfig>): Promise<string> {
    const creds = await pullCredentials(this.o.client, pod, registryHost(image));
    let lastError: unknown;
    for (const auth of creds.length ? creds : [null]) {
      try {
        const res = await this.o.cri.pullImage({ image: { image }, auth, sandbox_config: sandbox });
        return res.image_ref;
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError;
  }

  /** Forgets a pod's back-off state (it was deleted). */
  forgetPod(podUid: string): void {
    this.backoff.forgetPrefix(`${podUid}/`);
  }
}
