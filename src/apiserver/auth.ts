// Bearer-token authentication (kube-apiserver's static token file, in effect).
// Tokens live in <data-dir>/tokens.json; the admin token is made on first start.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';

export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  /** Extra attributes (e.g. a service account token's authentication.kubernetes.io/pod-name). */
  extra?: Record<string, string[]>;
}

/** Another kind of bearer token (e.g. service account JWTs): its user, or undefined when the token is not one of its own. */
export type BearerTokenAuthenticator = (token: string) => Promise<UserInfo | undefined>;

export interface TokenEntry extends UserInfo {
  token: string;
}

export const ANONYMOUS: UserInfo = { username: 'system:anonymous', groups: ['system:unauthenticated'] };

export function newToken(): string {
  return randomBytes(24).toString('hex');
}

export class TokenAuthenticator {
  #tokens: TokenEntry[];
  #others: BearerTokenAuthenticator[] = [];
  constructor(tokens: TokenEntry[]) {
    this.#tokens = tokens;
  }

  /** Loads <dataDir>/tokens.json, creating it with an admin token on first start. */
  static loadOrInit(dataDir: string): { auth: TokenAuthenticator; adminToken: string } {
    const file = join(dataDir, 'tokens.json');
    let tokens: TokenEntry[];
    if (existsSync(file)) {
      tokens = JSON.parse(readFileSync(file, 'utf8')) as TokenEntry[];
    } else {
      tokens = [{ token: newToken(), username: 'skiff-admin', uid: 'skiff-admin', groups: ['system:masters', 'system:authenticated'] }];
      writeFileSync(file, JSON.stringify(tokens, null, 2), { mode: 0o600 });
    }
    const admin = tokens.find((t) => t.groups.includes('system:masters'));
    if (!admin) throw new Error(`${file} has no token in group system:masters; delete the file to make a new admin token`);
    return { auth: new TokenAuthenticator(tokens), adminToken: admin.token };
  }

  /** Tried, in order, for bearer tokens that are not in tokens.json. */
  addBearerAuthenticator(a: BearerTokenAuthenticator): void {
    this.#others.push(a);
  }

  async authenticate(req: IncomingMessage): Promise<UserInfo | undefined> {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return undefined;
    const given = Buffer.from(m[1]);
    for (const t of this.#tokens) {
      const known = Buffer.from(t.token);
      if (known.length === given.length && timingSafeEqual(known, given)) {
        return { username: t.username, uid: t.uid, groups: t.groups };
      }
    }
    for (const other of this.#others) {
      const user = await other(m[1]);
      if (user) return user;
    }
    return undefined;
  }
}
