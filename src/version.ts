import { readFileSync } from 'node:fs';

/** The gateway's version (package.json), reported in `welcome` so support can tell which build a client talks to. */
export const SERVER_VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();
