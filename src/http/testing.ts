// Test helpers for admin routes: a fastify app with the server's body parser and the one admin
// pipeline (admin-routes.ts) over a test IamService, an audit log that keeps events in memory (and
// can be made to fail), and an inject() that signs like the CLI does.
import Fastify, { type FastifyInstance, type InjectOptions, type LightMyRequestResponse } from 'fastify';
import type { AuditEvent } from '../audit/index.ts';
import type { IamService } from '../iam/service.ts';
import { signRequest, type SigningCredentials } from '../iam/sigv4-sign.ts';
import { REGION } from '../iam/testing.ts';
import { registerAdminRoutes, type AdminRoute } from './admin-routes.ts';

export class MemoryAudit {
  readonly events: AuditEvent[] = [];
  failing = false;
  async append(e: AuditEvent): Promise<void> {
    if (this.failing) throw new Error('audit sink unavailable');
    this.events.push(e);
  }
}

export interface AdminTestApp {
  app: FastifyInstance;
  audit: MemoryAudit;
  /** A request signed by `creds` (default: the bootstrap administrator) for `service` (default "iam"); null: unsigned. */
  inject(o: { method: string; url: string; body?: unknown; payload?: string; creds?: SigningCredentials | null; service?: string }): Promise<LightMyRequestResponse>;
}

export async function adminTestApp(t: { iam: IamService; admin: SigningCredentials; clock: { now(): Date } }, routes: readonly AdminRoute[]): Promise<AdminTestApp> {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const audit = new MemoryAudit();
  registerAdminRoutes(app, {
    region: t.iam.region, accountId: t.iam.accountId, audit,
    authenticate: (req, signingName) => t.iam.authenticate(req, signingName),
    authorize: (caller, action, resource, info) => void t.iam.authorizeAdmin(caller, action, resource, info),
  }, routes);
  await app.ready();
  const inject: AdminTestApp['inject'] = async (o) => {
    const payload = o.payload ?? (o.body === undefined ? '' : JSON.stringify(o.body));
    const q = o.url.indexOf('?');
    const creds = o.creds === undefined ? t.admin : o.creds;
    const base: Record<string, string> = payload ? { 'content-type': 'application/json' } : {};
    const headers = creds
      ? signRequest({ method: o.method, host: 'localhost:80', path: q < 0 ? o.url : o.url.slice(0, q), query: q < 0 ? '' : o.url.slice(q + 1), headers: base, body: payload }, creds, { region: REGION, service: o.service ?? 'iam', now: t.clock.now() })
      : base;
    return app.inject({ method: o.method as InjectOptions['method'], url: o.url, headers, ...(payload ? { payload } : {}) });
  };
  return { app, audit, inject };
}
