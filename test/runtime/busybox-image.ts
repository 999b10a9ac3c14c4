// A tiny ImageSource for the runtime tests: one image made of the host's static busybox, each
// container's rootfs an overlay on it, so the tests don't need the image store.
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageProcessConfig, ImageSource, MountedRootfs } from '../../src/runtime/image-source.ts';

export const BUSYBOX_IMAGE = 'test.local/busybox:latest';

export class BusyboxImages implements ImageSource {
  readonly dir: string;
  readonly config: ImageProcessConfig = { Cmd: ['sh'], Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FROM_IMAGE=1'] };

  constructor(dir: string) {
    this.dir = dir;
  }

  private get base(): string { return join(this.dir, 'base'); }

  /** The base rootfs: /bin/busybox, a relative symlink per applet, /etc/passwd and /etc/group. */
  async build(busybox = '/bin/busybox'): Promise<void> {
    const bin = join(this.base, 'bin');
    await mkdir(bin, { recursive: true });
    await copyFile(busybox, join(bin, 'busybox'));
    const applets = execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
    for (const a of applets) await symlink('busybox', join(bin, a));
    for (const d of ['etc', 'proc', 'sys', 'dev', 'tmp', 'root']) await mkdir(join(this.base, d), { recursive: true });
    await writeFile(join(this.base, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    await writeFile(join(this.base, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
  }

  private paths(id: string) {
    const c = join(this.dir, 'containers', id);
    return { c, upper: join(c, 'upper'), work: join(c, 'work'), target: join(c, 'rootfs') };
  }

  async mountRootfs(imageRef: string, containerId: string): Promise<MountedRootfs> {
    if (imageRef !== BUSYBOX_IMAGE) throw new Error(`image "${imageRef}" not found`);
    const p = this.paths(containerId);
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    if (!mounts.split('\n').some((l) => l.split(' ')[1] === p.target)) {
      for (const d of [p.upper, p.work, p.target]) await mkdir(d, { recursive: true });
      execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${this.base},upperdir=${p.upper},workdir=${p.work}`, p.target]);
    }
    return { target: p.target, imageId: 'sha256:busybox-test' };
  }

  async unmountRootfs(containerId: string): Promise<void> {
    const p = this.paths(containerId);
    const mounts = await readFile('/proc/self/mounts', 'utf8');
    if (mounts.split('\n').some((l) => l.split(' ')[1] === p.target)) execFileSync('umount', [p.target]);
  }

  async removeRootfs(containerId: string): Promise<void> {
    await this.unmountRootfs(containerId);
    await rm(this.paths(containerId).c, { recursive: true, force: true });
  }

  imageConfig(imageRef: string): ImageProcessConfig {
    if (imageRef !== BUSYBOX_IMAGE) throw new Error(`image "${imageRef}" not found`);
    return this.config;
  }
}

/** Unmounts whatever is still mounted under dir (deepest first), for test cleanup. */
export async function unmountAllUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/self/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(`${dir}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) execFileSync('umount', ['-l', m]);
}
