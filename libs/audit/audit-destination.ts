import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where the audit trail goes (`AUDIT_LOG`): nowhere, one of the process's standard streams, or a file of its own. */
export type AuditDestination = { kind: 'off' } | { kind: 'stdout' } | { kind: 'stderr' } | { kind: 'file'; path: string };

/** The default: its own stream apart from the logs (stdout), needing no volume and no writable file system. */
export const DEFAULT_AUDIT_DESTINATION = 'stderr';

/**
 * Reads `AUDIT_LOG`: `off`, `stdout`, `stderr`, or a file path (`file:<path>` is read the same way, as in
 * `LICENCE_REGISTRY`). A relative path is resolved against the working directory now, so a later `chdir` cannot move it.
 */
export function parseAuditDestination(text: string): AuditDestination {
  const value = text.trim();
  if (value === 'off' || value === 'stdout' || value === 'stderr') return { kind: value };
  const path = value.startsWith('file:') ? value.slice('file:'.length) : value;
  if (path.trim() === '') throw new Error('expected off, stdout, stderr or a file path');
  return { kind: 'file', path: resolve(path) };
}

/**
 * Opens (creating it and its directory when missing) and closes the file once, so that a path the process cannot write
 * stops the start with a message naming it, instead of losing every record later. Throws with the reason.
 */
export function checkAuditFileWritable(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a'));
  } catch (error) {
    throw new Error(`cannot open ${path} for appending: ${error instanceof Error ? error.message : String(error)}`);
  }
}
