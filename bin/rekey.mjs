#!/usr/bin/env node
// Entry point of `rekey`: runs the CLI compiled by esbuild from exactly the sources checked out
// (scripts/build.mjs; built here first when they changed), or, with REKEY_RUNTIME=tsx or when no
// build can be made, the TypeScript sources through tsx. docs/ARCHITECTURE.md, "How the runtime
// loads code".
import { CLI_ENTRY, compiled } from '../scripts/build.mjs';

const built = await compiled(CLI_ENTRY);
if (built !== undefined) {
  process.setSourceMapsEnabled(true); // stack traces in .ts files and lines, as under tsx
  await import(built);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
