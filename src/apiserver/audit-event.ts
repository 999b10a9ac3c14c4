// Builds the audit.k8s.io/v1 Event for one finished request.
import type { IncomingMessage } from 'node:http';
import type { AuditEvent } from './audit.ts';
import type { UserInfo } from './auth.ts';
import type { ResourceCall } from './handlers/context.ts';
import type { RequestInfo } from './request-info.ts';
import { microTime } from '../api/time.ts';

export function auditEventFor(req: IncomingMessage, info: RequestInfo | undefined, user: UserInfo, call: ResourceCall | undefined,
  code: number, receivedAt: Date, auditID: string): AuditEvent {
  const ev: AuditEvent = {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID,
    stage: 'ResponseComplete',
    requestURI: req.url ?? '/',
    verb: info?.kind === 'resource' ? info.verb : (req.method ?? 'GET').toLowerCase(),
    user: { username: user.username, ...(user.uid ? { uid: user.uid } : {}), groups: user.groups },
    sourceIPs: [req.socket.remoteAddress ?? ''],
    userAgent: String(req.headers['user-agent'] ?? ''),
    responseStatus: { metadata: {}, code },
    requestReceivedTimestamp: microTime(receivedAt),
    stageTimestamp: microTime(),
  } as AuditEvent;
  if (info?.kind === 'resource') {
    ev.objectRef = {
      resource: info.resource,
      ...(info.namespace ? { namespace: info.namespace } : {}),
      ...(info.name ? { name: info.name } : {}),
      apiGroup: info.group,
      apiVersion: info.version,
      ...(info.subresource ? { subresource: info.subresource } : {}),
    };
  }
  if (call?.requestObject !== undefined) ev.requestObject = call.requestObject as AuditEvent['requestObject'];
  if (call?.responseObject !== undefined) ev.responseObject = call.responseObject as AuditEvent['responseObject'];
  return ev;
}
