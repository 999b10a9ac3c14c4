// The audit log backend: audit.k8s.io/v1 Event objects as JSON lines, like kube-apiserver's
// --audit-log-path (https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#log-backend).
// Events are serialised at once (so later changes to the objects don't leak in) and written by a
// single background loop, so request handling never waits on the disk; close() drains everything.
import { randomUUID } from 'node:crypto';
import type { Status } from 'kubernetes-types/meta/v1.d.ts';
import { RotatingFile } from './audit-file.ts';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';

/** authentication.k8s.io/v1 UserInfo as it appears in audit events. */
export interface AuditUserInfo {
  username?: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** audit.k8s.io/v1 ObjectReference. */
export interface AuditObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  /** '' or absent for the core group. */
  apiGroup?: string;
  apiVersion?: string;
  resourceVersion?: string;
  subresource?: string;
}

/** audit.k8s.io/v1 Event (https://kubernetes.io/docs/reference/config-api/apiserver-audit.v1/#audit-k8s-io-v1-Event). */
export interface AuditEvent {
  kind?: 'Event';
  apiVersion?: 'audit.k8s.io/v1';
  level: AuditLevel;
  auditID: string;
  stage: AuditStage;
  requestURI: string;
  /** The Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection) or the lower-cased HTTP method for non-resource requests. */
  verb: string;
  user: AuditUserInfo;
  impersonatedUser?: AuditUserInfo;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: AuditObjectReference;
  responseStatus?: Status;
  requestObject?: unknown;
  responseObject?: unknown;
  /** MicroTime, e.g. 2026-11-21T22:49:35.123456Z; see microTime(). */
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

export interface AuditLogOptions {
  /** File to write to; '-' means stdout (no rotation then). */
  path: string;
  /** --audit-log-maxage: days to keep backups, by the time in their names; 0 = forever. */
  maxAgeDays?: number;
  /** --audit-log-maxbackup: backups to keep; 0 = all. */
  maxBackups?: number;
  /** --audit-log-maxsize: megabytes (2^20 bytes; fractions allowed) before rotating; 0 = never. Default 100 as in kube-apiserver. */
  maxSizeMB?: number;
  /** --audit-log-compress: gzip rotated files. */
  compress?: boolean;
  /**
   * The most detail written: an event's own level is lowered to this (dropping requestObject/responseObject
   * as that level requires); 'None' writes nothing. Default 'RequestResponse' (events keep their level).
   */
  level?: AuditLevel;
  /** Where write failures go (default: console.error). The events of a failed write are lost, as in kube-apiserver. */
  onError?: (err: Error) => void;
}

const LEVELS: AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
const MEGABYTE = 1024 * 1024;

export { microTime } from '../api/time.ts';

export function newAuditID(): string {
  return randomUUID();
}

interface Sink {
  write(records: Buffer[]): Promise<void>;
  close(): Promise<void>;
}

export class AuditLog {
  readonly #sink: Sink;
  readonly #ceiling: number;
  readonly #onError: (err: Error) => void;
  #queue: Buffer[] = [];
  #draining: Promise<void> | undefined;
  #closed = false;
  #failure: Error | undefined;

  constructor(opts: AuditLogOptions) {
    for (const key of ['maxAgeDays', 'maxBackups', 'maxSizeMB'] as const) {
      const v = opts[key];
      if (v !== undefined && !(v >= 0)) throw new Error(`audit log ${key} ${v} can't be a negative number`);
    }
    const level = opts.level ?? 'RequestResponse';
    if (!LEVELS.includes(level)) throw new Error(`audit log level ${level} is not one of ${LEVELS.join(', ')}`);
    this.#ceiling = LEVELS.indexOf(level);
    this.#onError = opts.onError ?? ((err) => console.error(`audit log: ${err.message}`));
    if (opts.path === '-') {
      this.#sink = stdoutSink();
    } else {
      const maxSize = Math.floor((opts.maxSizeMB ?? 100) * MEGABYTE);
      // With maxsize 0 kube-apiserver appends to a plain file: no rotation, no cleanup of old backups.
      this.#sink = new RotatingFile({
        path: opts.path,
        maxSize,
        maxBackups: maxSize === 0 ? 0 : (opts.maxBackups ?? 0),
        maxAgeDays: maxSize === 0 ? 0 : (opts.maxAgeDays ?? 0),
        compress: maxSize === 0 ? false : (opts.compress ?? false),
      });
    }
  }

  /** Queues one event; returns at once. Throws after close(), when the event could no longer be written. */
  log(event: AuditEvent): void {
    if (this.#closed) throw new Error(`audit log is closed; event ${event.auditID} (${event.verb} ${event.requestURI}) not written`);
    const own = LEVELS.indexOf(event.level);
    if (own < 0) throw new Error(`audit event ${event.auditID}: level ${event.level} is not one of ${LEVELS.join(', ')}`);
    const level = Math.min(own, this.#ceiling);
    if (level <= 0) return;
    const out: AuditEvent = { kind: 'Event', apiVersion: 'audit.k8s.io/v1', ...event, level: LEVELS[level]! };
    // Metadata: no bodies; Request: request body only (https://kubernetes.io/docs/tasks/debug/debug-cluster/audit/#audit-policy).
    if (level < LEVELS.indexOf('Request')) delete out.requestObject;
    if (level < LEVELS.indexOf('RequestResponse')) delete out.responseObject;
    this.#queue.push(Buffer.from(`${JSON.stringify(out)}\n`));
    this.#draining ??= this.#drain();
  }

  /** Resolves once every event logged so far is written. */
  async flush(): Promise<void> {
    while (this.#draining) await this.#draining;
  }

  /** Writes every queued event, then closes the file. Rejects with the last write error, if there was one. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    await this.#sink.close();
    if (this.#failure) throw this.#failure;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        try {
          await this.#sink.write(batch);
        } catch (err) {
          this.#failure = new Error(`unable to write ${batch.length} audit event(s): ${(err as Error).message}`, { cause: err });
          this.#onError(this.#failure);
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }
}

function stdoutSink(): Sink {
  return {
    write: (records) =>
      new Promise<void>((resolve, reject) =>
        process.stdout.write(Buffer.concat(records), (err) => (err ? reject(err) : resolve())),
      ),
    close: async () => undefined, // stdout belongs to the process
  };
}
