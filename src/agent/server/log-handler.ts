// GET /containerLogs/{namespace}/{pod}/{container}: the log as text, streamed; with follow the
// response stays open while the container runs.
import { access } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerContext } from './index.ts';
import { currentLog, findPod, previousLog } from './containers.ts';
import { badRequest } from './http-errors.ts';
import { LogOptionError, logOptionsFrom, streamLog } from './logs.ts';

export async function handleContainerLogs(ctx: ServerContext, req: IncomingMessage, res: ServerResponse,
  namespace: string, podName: string, container: string): Promise<void> {
  const q = new URL(req.url ?? '/', 'https://x').searchParams;
  let opts;
  try {
    opts = logOptionsFrom(q);
  } catch (e) {
    if (e instanceof LogOptionError) throw badRequest(e.message);
    throw e;
  }
  const kp = await findPod(ctx, namespace, podName);
  const previous = q.get('previous') === 'true' || q.get('previous') === '1';
  const target = previous ? await previousLog(ctx, kp, container) : await currentLog(ctx, kp, container);
  try {
    await access(target.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw badRequest(`the log file ${target.path} of container "${container}" in pod "${podName}" does not exist`);
    throw e;
  }
  const isRunning = async () => {
    if (!target.containerId) return false;
    const { status } = await ctx.cri.containerStatus({ container_id: target.containerId });
    return status?.state === 'CONTAINER_RUNNING';
  };
  const abort = new AbortController();
  const onGone = () => abort.abort();
  res.once('close', onGone);
  ctx.shutdown.addEventListener('abort', onGone, { once: true });
  try {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private' });
    // With follow and nothing logged yet, the client should still see the stream open.
    res.flushHeaders();
    await streamLog({ path: target.path, isRunning }, { ...opts, follow: opts.follow && !previous }, res, abort.signal);
    res.end();
  } finally {
    res.off('close', onGone);
    ctx.shutdown.removeEventListener('abort', onGone);
  }
}
