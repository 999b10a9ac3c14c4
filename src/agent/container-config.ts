// One container's CRI ContainerConfig, as kubelet's generateContainerConfig makes it: command and
// args, env, mounts (volumes plus the termination message file), working dir, tty/stdin, the log
// path, Linux resources and the container's security context, with the labels and annotations
// that let the agent find it again after a restart.
// https://kubernetes.io/docs/tasks/debug/debug-application/determine-reason-pod-failure/#customizing-the-termination-message
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { Container, Pod } from 'kubernetes-types/core/v1.d.ts';
import type { ContainerConfig, DeepPartial, LinuxContainerSecurityContext, Mount, SecurityProfile_ProfileType } from '../cri/types.ts';
import {
  CONTAINER_HASH_ANNOTATION, CONTAINER_NAME_LABEL, INIT_CONTAINER_ANNOTATION, podLabels, RESTART_COUNT_ANNOTATION,
  TERMINATION_GRACE_ANNOTATION, TERMINATION_MESSAGE_PATH_ANNOTATION, TERMINATION_MESSAGE_POLICY_ANNOTATION,
} from './labels.ts';
import { containerLogPath } from './log-paths.ts';
import { linuxResources } from './qos.ts';
import { sandboxSecurityContext } from './sandbox-config.ts';

export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';

/** A hash of the container's spec: a running container whose hash differs (e.g. a new image) is restarted. */
export function containerHash(container: Container): string {
  return createHash('sha256').update(JSON.stringify(container)).digest('hex').slice(0, 8);
}

/** Where the node keeps a container instance's termination message (bind-mounted at terminationMessagePath). */
export function terminationMessageFile(podsDir: string, podUid: string, containerName: string, restartCount: number): string {
  return join(podsDir, podUid, 'containers', containerName, String(restartCount));
}

export function containerSecurityContext(pod: Pod, container: Container): DeepPartial<LinuxContainerSecurityContext> {
  const podSc = pod.spec?.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const sandbox = sandboxSecurityContext(pod);
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  const runAsGroup = sc.runAsGroup ?? podSc.runAsGroup;
  const seccomp = sc.seccompProfile ?? podSc.seccompProfile;
  return {
    capabilities: { add_capabilities: sc.capabilities?.add ?? [], drop_capabilities: sc.capabilities?.drop ?? [] },
    privileged: !!sc.privileged,
    namespace_options: sandbox.namespace_options,
    ...(runAsUser !== undefined ? { run_as_user: { value: runAsUser } } : {}),
    ...(runAsGroup !== undefined ? { run_as_group: { value: runAsGroup } } : {}),
    readonly_rootfs: !!sc.readOnlyRootFilesystem,
    supplemental_groups: sandbox.supplemental_groups,
    // allowPrivilegeEscalation: false is no_new_privs; privileged containers may always escalate.
    no_new_privs: sc.allowPrivilegeEscalation === false && !sc.privileged,
    ...(seccomp ? { seccomp: { profile_type: seccomp.type as SecurityProfile_ProfileType, localhost_ref: seccomp.localhostProfile ?? '' } } : {}),
  };
}

export interface ContainerConfigInput {
  pod: Pod;
  container: Container;
  init: boolean;
  restartCount: number;
  /** The image as resolved by the image manager (an image id or the reference). */
  image: string;
  env: { key: string; value: string }[];
  /** Volume mounts from setUpPodVolumes(...).mountsFor(container). */
  mounts: DeepPartial<Mount>[];
  /** Host file for the termination message ('' for none). */
  terminationMessageFile: string;
  memoryCapacityBytes: number;
}

export function containerConfig(i: ContainerConfigInput): DeepPartial<ContainerConfig> {
  const { pod, container } = i;
  const messagePath = container.terminationMessagePath ?? DEFAULT_TERMINATION_MESSAGE_PATH;
  const mounts = [...i.mounts];
  if (i.terminationMessageFile && !mounts.some((m) => m.container_path === messagePath)) {
    mounts.push({ container_path: messagePath, host_path: i.terminationMessageFile, readonly: false });
  }
  return {
    metadata: { name: container.name, attempt: i.restartCount },
    image: { image: i.image, user_specified_image: container.image ?? '' },
    command: container.command ?? [],
    args: container.args ?? [],
    working_dir: container.workingDir ?? '',
    envs: i.env.map((e) => ({ key: e.key, value: Buffer.from(e.value) })),
    mounts,
    labels: { ...podLabels(pod), [CONTAINER_NAME_LABEL]: container.name },
    annotations: {
      [CONTAINER_HASH_ANNOTATION]: containerHash(container),
      [RESTART_COUNT_ANNOTATION]: String(i.restartCount),
      [TERMINATION_MESSAGE_PATH_ANNOTATION]: messagePath,
      [TERMINATION_MESSAGE_POLICY_ANNOTATION]: container.terminationMessagePolicy ?? 'File',
      [TERMINATION_GRACE_ANNOTATION]: String(pod.spec?.terminationGracePeriodSeconds ?? 30),
      ...(i.init ? { [INIT_CONTAINER_ANNOTATION]: 'true' } : {}),
    },
    log_path: containerLogPath(container.name, i.restartCount),
    stdin: !!container.stdin,
    stdin_once: !!container.stdinOnce,
    tty: !!container.tty,
    linux: {
      resources: linuxResources(pod, container, i.memoryCapacityBytes),
      security_context: containerSecurityContext(pod, container),
    },
  };
}
