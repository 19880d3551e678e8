// The web console under /console (docs/CONSOLE.md): static files only. The page holds no data and no
// privilege of its own; it signs its calls to the existing APIs (KMS JSON, STS, the /v1 admin API) with
// SigV4 in the browser, so every call crosses the one request pipeline (authentication, authorization,
// quotas, audit) exactly as the CLI's do.
//
// The browser code (src/http/console/*.js) and its libraries (preact, htm, aws4fetch from node_modules)
// are bundled by esbuild in memory on the first request (once per process) and kept: nothing is
// downloaded at run time.
//
//   GET /console            index.html (the signing region in a <meta>), no-store
//   GET /console/app.js     the bundle (ES2022, minified), cached under its content hash (?v=...),
//                           gzipped (once, at build) for browsers that accept it
//   GET /console/app.css    the style sheet, same
import { readFile } from 'node:fs/promises';
import { gzipSync, constants as zlib } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256 } from '../crypto/index.ts';

const UI_DIR = join(dirname(fileURLToPath(import.meta.url)), 'console');

/** The console's assets, built once per process. */
export interface ConsoleAssets {
  html: string;
  js: string;
  css: string;
  /** The bundle and style sheet gzipped once at build (sent to browsers that accept gzip). */
  jsGzip: Buffer;
  cssGzip: Buffer;
  version: string;
  /** How long the bundle took to build (ms): docs/CONSOLE.md, "First page". */
  buildMs: number;
}

interface Bundle {
  js: string;
  css: string;
  jsGzip: Buffer;
  cssGzip: Buffer;
  template: string;
  version: string;
  buildMs: number;
}

/** One bundle per process, shared by every server in it (tests run several): built once, never concurrently. */
let bundling: Promise<Bundle> | undefined;

/** Bundles the browser code with esbuild (in memory); esbuild's service process is stopped after. */
async function bundle(): Promise<Bundle> {
  const started = performance.now();
  const esbuild = await import('esbuild');
  try {
    const out = await esbuild.build({
      entryPoints: [join(UI_DIR, 'main.js')],
      bundle: true, write: false, format: 'esm', target: 'es2022', minify: true, legalComments: 'none',
      logLevel: 'silent', absWorkingDir: UI_DIR,
    });
    const js = out.outputFiles[0]!.text;
    const css = await readFile(join(UI_DIR, 'app.css'), 'utf8');
    const template = await readFile(join(UI_DIR, 'index.html'), 'utf8');
    const version = sha256(Buffer.from(js + css)).toString('hex').slice(0, 16);
    const gz = (text: string) => gzipSync(text, { level: zlib.Z_BEST_COMPRESSION });
    return { js, css, jsGzip: gz(js), cssGzip: gz(css), template, version, buildMs: Math.round(performance.now() - started) };
  } finally {
    await esbuild.stop();
  }
}

/** The console's assets for a server signing in `region`. */
export async function buildConsole(region: string): Promise<ConsoleAssets> {
  bundling ??= bundle().catch((err: unknown) => {
    bundling = undefined; // a failed build is retried by the next request
    throw err;
  });
  const b = await bundling;
  const html = b.template.replaceAll('{{version}}', b.version).replaceAll('{{region}}', escapeAttr(region));
  return { html, js: b.js, css: b.css, jsGzip: b.jsGzip, cssGzip: b.cssGzip, version: b.version, buildMs: b.buildMs };
}

function escapeAttr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Security headers of every console response: nothing but this origin, no framing, no sniffing. */
function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY');
}

export function registerConsole(app: FastifyInstance, opts: { region: string }): void {
  // one build however many first requests arrive together (the page, app.js and app.css come at once);
  // a failed build is tried again by the next request
  let building: Promise<ConsoleAssets> | undefined;
  const load = (): Promise<ConsoleAssets> => (building ??= buildConsole(opts.region).catch((e: unknown) => {
    building = undefined;
    throw e;
  }));
  const page = async (_req: unknown, reply: FastifyReply) => {
    const a = await load();
    return secure(reply).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(a.html);
  };
  app.get('/console', page);
  app.get('/console/', page);
  /** An immutable asset, gzipped when the browser accepts it. */
  const asset = (req: FastifyRequest, reply: FastifyReply, type: string, plain: string, gzipped: Buffer) => {
    secure(reply).header('cache-control', 'public, max-age=31536000, immutable').header('vary', 'accept-encoding').type(type);
    return /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? reply.header('content-encoding', 'gzip').send(gzipped) : reply.send(plain);
  };
  app.get('/console/app.js', async (req, reply) => {
    const a = await load();
    return asset(req, reply, 'text/javascript; charset=utf-8', a.js, a.jsGzip);
  });
  app.get('/console/app.css', async (req, reply) => {
    const a = await load();
    return asset(req, reply, 'text/css; charset=utf-8', a.css, a.cssGzip);
  });
}
