// Which uid/gid a container's process runs as: the security context's runAsUser/runAsGroup
// first, then the image's User ("name", "uid", "name:group", "uid:gid"), names looked up in the
// rootfs' /etc/passwd and /etc/group as a container runtime does.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig, DeepPartial } from '../cri/types.ts';

export interface ProcessUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

interface PasswdEntry { name: string; uid: number; gid: number }

async function table(rootfs: string, file: string): Promise<string[][]> {
  const text = await readFile(join(rootfs, 'etc', file), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

async function passwd(rootfs: string): Promise<PasswdEntry[]> {
  return (await table(rootfs, 'passwd')).map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) }));
}

export async function resolveUser(rootfs: string, config: DeepPartial<ContainerConfig>, imageUser: string | undefined): Promise<ProcessUser> {
  const sc = config.linux?.security_context;
  const [userPart, groupPart] = (imageUser ?? '').split(':');
  let uid = 0;
  let gid: number | undefined;
  const users = await passwd(rootfs);
  const name = sc?.run_as_user?.value != null ? String(sc.run_as_user.value) : sc?.run_as_username || userPart || '';
  if (/^\d+$/.test(name)) {
    uid = Number(name);
    gid = users.find((u) => u.uid === uid)?.gid;
  } else if (name) {
    const entry = users.find((u) => u.name === name);
    if (!entry) throw new Error(`user "${name}" is not in the image's /etc/passwd`);
    uid = entry.uid;
    gid = entry.gid;
  }
  if (sc?.run_as_group?.value != null) gid = Number(sc.run_as_group.value);
  else if (groupPart && sc?.run_as_user?.value == null && !sc?.run_as_username) {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = (await table(rootfs, 'group')).find((f) => f[0] === groupPart);
      if (!g) throw new Error(`group "${groupPart}" is not in the image's /etc/group`);
      gid = Number(g[2]);
    }
  }
  const additionalGids = (sc?.supplemental_groups ?? []).filter((g): g is number => g != null).map(Number);
  return { uid, gid: gid ?? 0, additionalGids };
}
