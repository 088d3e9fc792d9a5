import { ConfigError } from '../errors';

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in every string of a parsed config; a missing variable is an error at its path. */
export function substituteEnv(value: unknown, file: string, env: NodeJS.ProcessEnv, path = '', errors: ConfigError[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(PLACEHOLDER, (whole, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      errors.push(new ConfigError(file, path, `environment variable ${name} is not set`));
      return whole;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, file, env, `${path}/${i}`, errors));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteEnv(item, file, env, `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`, errors);
    return out;
  }
  return value;
}
