// rekey's own admin API under /v1 (JSON). The OpenAPI document describes exactly these routes.
import type { FastifyInstance } from 'fastify';

export interface AdminOptions {
  version: string;
  /** Paths contributed by other admin modules (IAM, audit, jobs). */
  extraPaths?: Record<string, unknown>;
  /** Shared schemas for #/components/schemas references. */
  schemas?: Record<string, unknown>;
}

export function openApiDocument(version: string, extraPaths: Record<string, unknown> = {}, schemas: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: { title: 'rekey admin API', version },
    paths: {
      '/v1/health': {
        get: {
          summary: 'Liveness and readiness',
          responses: { '200': { description: 'The server is unsealed and serving', content: { 'application/json': { schema: { type: 'object', properties: { status: { type: 'string' }, version: { type: 'string' } } } } } } },
        },
      },
      '/v1/openapi.json': { get: { summary: 'This document', responses: { '200': { description: 'OpenAPI 3 document' } } } },
      ...extraPaths,
    },
    components: { schemas },
  };
}

export function registerAdmin(app: FastifyInstance, opts: AdminOptions): void {
  app.get('/v1/health', async () => ({ status: 'ok', version: opts.version }));
  app.get('/v1/openapi.json', async () => openApiDocument(opts.version, opts.extraPaths, opts.schemas));
}
