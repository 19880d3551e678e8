// Admin routes for the API's certificates, under /v1/certs, as data (admin-routes.ts). Adapts CertService (src/certs).
//
//   GET  /v1/certs          -> { mode, server, ca?, history }      rekey:GetCertificateStatus
//   POST /v1/certs/rotate   -> CertView (the new server certificate) rekey:RotateCertificate
//   POST /v1/certs/ca/rotate -> CaRotationView                       rekey:RotateCertificateAuthority
//        body { step?: "start" (default) | "complete" | "finish" }   (resource .../certificate/ca)
//   POST /v1/certs/issue    -> { certificatePem, privateKeyPem, caPem }  rekey:IssueCertificate
//        body { commonName, sans?, uris?, usage: "server"|"client", lifetimeSeconds? }
//        (a certificate from rekey's CA for other names: the proxy's listener, an mTLS client)
//
// Every call is SigV4-signed (credential scope service "iam"), authorized on
// arn:aws:rekey:<region>:<account>:certificate/server (.../ca for the CA) and audited.
import { ValidationException } from '../errors.ts';
import type { AdminRoute } from './admin-routes.ts';
import type { CertAdmin, CertService } from '../certs/service.ts';
import type { RequestFacts } from '../iam/identity.ts';
import { WriteGate } from '../storage/gate.ts';
import type { CaStep } from '../certs/ca-rotation.ts';

const issueBody = {
  type: 'object', additionalProperties: false, required: ['commonName', 'usage'],
  properties: {
    commonName: { type: 'string', minLength: 1, maxLength: 64 },
    sans: { type: 'array', maxItems: 100, items: { type: 'string', pattern: '^[A-Za-z0-9.:*-]{1,253}$' } },
    uris: { type: 'array', maxItems: 10, items: { type: 'string', pattern: '^arn:[^\\s,]{1,2000}$' } },
    usage: { enum: ['server', 'client'] },
    lifetimeSeconds: { type: 'integer', minimum: 60, maximum: 398 * 86400 },
  },
} as const;

const rotateCaBody = { type: 'object', additionalProperties: false, properties: { step: { enum: ['start', 'complete', 'finish'] } } } as const;

export function certsRoutes(certs: CertService | undefined, scope: { region: string; accountId: string }): AdminRoute[] {
  const arn = (name: string) => `arn:aws:rekey:${scope.region}:${scope.accountId}:certificate/${name}`;
  // a mutation works on the call's view: refused before any write, its event recorded right before the first
  const on = (request?: RequestFacts): CertAdmin => {
    if (!certs) throw new ValidationException('TLS is off on this server (tls.mode "off"): there are no certificates.');
    return request?.beforeCommit ? certs.forCall(new WriteGate(request.beforeCommit)) : certs;
  };
  return [
    {
      method: 'GET', url: '/v1/certs', action: 'rekey:GetCertificateStatus', summary: 'The API certificate, rekey\'s CA and the rotation history',
      audit: [], resource: () => arn('server'), run: () => on().status(),
    },
    {
      method: 'POST', url: '/v1/certs/rotate', action: 'rekey:RotateCertificate', summary: 'Replace the API certificate now (generated mode)',
      audit: [], resource: () => arn('server'), gate: 'operation', run: (_i, { request }) => on(request).rotate('manual'),
    },
    {
      method: 'POST', url: '/v1/certs/ca/rotate', action: 'rekey:RotateCertificateAuthority',
      summary: 'Move the rotation of rekey\'s CA one phase on: start (new CA in the trust bundle), complete (server certificate from the new CA), finish (old CA leaves the bundle). CertificateAuthorityRotationStateException when the step does not follow the current phase.',
      schema: { body: rotateCaBody }, audit: ['step'], resource: () => arn('ca'), gate: 'operation',
      run: (i, { request }) => on(request).rotateCa((i['step'] as CaStep | undefined) ?? 'start', 'manual'),
    },
    {
      method: 'POST', url: '/v1/certs/issue', action: 'rekey:IssueCertificate', status: 200,
      summary: 'Issue a certificate from rekey\'s CA for other names (proxy listener, mTLS client); the private key is in this response only',
      schema: { body: issueBody }, audit: ['commonName', 'usage', 'sans', 'uris'], resource: () => arn('server'), gate: 'operation',
      run: async (i, { request }) => {
        const b = i as unknown as IssueInput;
        const out = await on(request).issue({
          commonName: b.commonName, usage: b.usage, ...(b.sans ? { sans: b.sans } : {}), ...(b.uris ? { uris: b.uris } : {}),
          ...(b.lifetimeSeconds ? { lifetimeMs: b.lifetimeSeconds * 1000 } : {}),
        });
        return { certificatePem: out.certPem, privateKeyPem: out.keyPem, caPem: out.caPem };
      },
    },
  ];
}

interface IssueInput { commonName: string; usage: 'server' | 'client'; sans?: string[]; uris?: string[]; lifetimeSeconds?: number }
