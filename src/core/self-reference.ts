/**
 * Adapters import the public core API as `caseway/core`. TypeScript (tsconfig.json `paths`) and Jest
 * (jest.config.js `moduleNameMapper`) map that name to src/core/index.ts; built code run by plain node resolves it
 * through this resolve hook, registered before the registry loads any adapter.
 */
import { registerHooks } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const PUBLIC_CORE = 'caseway/core';
let registered = false;

export function resolvePublicCore(): void {
  // From sources (ts-jest), Jest's moduleNameMapper resolves the name; the hook is for built .js only.
  if (registered || typeof registerHooks !== 'function' || __filename.endsWith('.ts')) return;
  registered = true;
  const url = pathToFileURL(path.join(__dirname, `index${path.extname(__filename)}`)).href;
  registerHooks({
    resolve: (specifier, context, nextResolve) => (specifier === PUBLIC_CORE ? { url, shortCircuit: true } : nextResolve(specifier, context)),
  });
}
