/**
 * Finds adapters: every folder under adapters/ (and any extra folder given, e.g. test fixtures) whose index
 * default-exports defineAdapter(...). Adding a peer means adding a folder; nothing here changes.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { RegisteredAdapter } from './adapter';

export const BUILTIN_ADAPTER_DIR = path.resolve(__dirname, '../../adapters');

export class AdapterRegistry {
  private readonly adapters = new Map<string, RegisteredAdapter>();

  register(adapter: RegisteredAdapter): void {
    if (this.adapters.has(adapter.name)) throw new Error(`adapter "${adapter.name}" is defined twice`);
    this.adapters.set(adapter.name, adapter);
  }

  get(name: string): RegisteredAdapter | undefined {
    return this.adapters.get(name);
  }

  names(): string[] {
    return [...this.adapters.keys()].sort();
  }

  static discover(dirs: string[] = [BUILTIN_ADAPTER_DIR]): AdapterRegistry {
    const registry = new AdapterRegistry();
    for (const dir of dirs) {
      if (!existsSync(dir)) continue;
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const folder = path.join(dir, entry.name);
        if (!['index.ts', 'index.js'].some((f) => existsSync(path.join(folder, f)))) continue;
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(path.join(folder, 'index')) as { default?: RegisteredAdapter };
        const adapter = mod.default;
        if (!adapter || typeof adapter.name !== 'string' || typeof adapter.actions !== 'object') {
          throw new Error(`${folder}: index does not default-export defineAdapter({...})`);
        }
        if (adapter.name !== entry.name) {
          throw new Error(`${folder}: adapter name "${adapter.name}" differs from its folder name "${entry.name}"`);
        }
        registry.register(adapter);
      }
    }
    return registry;
  }
}
