/**
 * Starts a worker thread on one of the core's worker modules, from compiled JavaScript or from
 * the TypeScript sources (tsx, vitest). For `.ts` the worker is a small bootstrap that loads the
 * module through tsx's `tsImport`: on Node 20, `execArgv: ['--import', 'tsx']` does not work for
 * workers (module hooks passed to a Worker are ignored, so the worker fails with
 * ERR_UNKNOWN_FILE_EXTENSION); `tsImport` registers a scoped loader that works inside the worker.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker, type ResourceLimits } from 'node:worker_threads';

export interface StartWorkerOptions {
  workerData?: unknown;
  resourceLimits?: ResourceLimits;
}

/**
 * `entry` is the worker module's URL without extension, relative to the caller
 * (`new URL('./embed-worker', import.meta.url)`); `.js` or `.ts` is chosen to match the running code.
 */
export function startWorker(entry: URL, options: StartWorkerOptions = {}): Worker {
  const { workerData, resourceLimits } = options;
  if (!isTypeScriptSource()) return new Worker(new URL(`${entry.href}.js`), { workerData, resourceLimits });
  const module = `${entry.href}.ts`;
  const bootstrap = `import(${JSON.stringify(tsxEsmApiUrl())}).then((tsx) => tsx.tsImport(${JSON.stringify(module)}, ${JSON.stringify(module)}))`;
  return new Worker(bootstrap, { eval: true, workerData, resourceLimits });
}

function isTypeScriptSource(): boolean {
  return /\.[cm]?ts$/.test(new URL(import.meta.url).pathname);
}

/** file: URL of tsx's ESM API (its `require` variant cannot load the ESM loader on this version). */
function tsxEsmApiUrl(): string {
  const require = createRequire(import.meta.url);
  let pkgJson: string;
  try {
    pkgJson = require.resolve('tsx/package.json');
  } catch {
    throw new Error('Worker threads: running from .ts sources needs the tsx package (npm install -D tsx)');
  }
  const api = join(dirname(pkgJson), 'dist', 'esm', 'api', 'index.mjs');
  if (!existsSync(api)) throw new Error(`Worker threads: tsx ESM API not found at ${api}`);
  return pathToFileURL(api).href;
}
