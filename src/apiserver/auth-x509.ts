// Client certificate authentication, as kube-apiserver's x509 authenticator: a certificate the
// TLS handshake verified against the cluster CA names the user in its CN and the groups in its
// O values (https://kubernetes.io/docs/reference/access-authn-authz/authentication/#x509-client-certificates).
// The HTTPS server asks every client for a certificate but lets those without one (or with one it
// does not trust) through to bearer-token authentication.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import 'reflect-metadata'; // @peculiar/x509's tsyringe needs the Reflect metadata polyfill loaded first
import * as x509 from '@peculiar/x509';
import type { UserInfo } from './auth.ts';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';

interface Verified { user: UserInfo | undefined; notAfter: number; notBefore: number }

// A connection presents one certificate for its whole life: parse it once per socket.
const bySocket = new WeakMap<TLSSocket, Verified>();

/** The user a verified client certificate names, or undefined (no certificate, untrusted, expired, not for client auth). */
export function clientCertificateUser(req: IncomingMessage): UserInfo | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerX509Certificate !== 'function' || !socket.authorized) return undefined;
  let v = bySocket.get(socket);
  if (!v) {
    v = verify(socket);
    bySocket.set(socket, v);
  }
  const now = Date.now();
  return now >= v.notBefore && now <= v.notAfter ? v.user : undefined;
}

function verify(socket: TLSSocket): Verified {
  const peer = socket.getPeerX509Certificate();
  if (!peer) return { user: undefined, notAfter: 0, notBefore: 0 };
  const validity = { notBefore: Date.parse(peer.validFrom), notAfter: Date.parse(peer.validTo) };
  const ekus = peer.keyUsage; // Node reports the extended key usages here; undefined when the extension is absent (any use)
  if (ekus && !ekus.includes(CLIENT_AUTH) && !ekus.includes(ANY_EKU)) return { user: undefined, ...validity };
  const subject = new x509.X509Certificate(peer.raw).subjectName;
  const username = subject.getField('CN')[0] ?? '';
  if (!username) return { user: undefined, ...validity };
  const groups = [...subject.getField('O'), 'system:authenticated'];
  return { user: { username, groups }, ...validity };
}
