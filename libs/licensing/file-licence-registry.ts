import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Licence } from '#libs/contracts';
import type { Logger } from '#libs/observability';
import { changedScopes, emptyRegistryEntries, parseRegistryDocument, type LicenceRegistry, type LicenceScope, type LicenceScopeKind, type RegistryEntries } from './licence-registry.js';

/**
 * `LICENCE_REGISTRY=file:<path>`: a JSON document of tenant and user entries, re-read when it changes. fs.watch on the
 * directory sees an edit or an atomic rename at once; a stat poll catches what fs.watch misses (network and container
 * file systems). A bad document is logged and ignored: the last good one stays in force.
 */
export class FileLicenceRegistry implements LicenceRegistry {
  readonly kind = 'file';
  private entries: RegistryEntries = emptyRegistryEntries();
  private lastText = '';
  private lastRejectedText = '';
  private lastStat = '';
  private watcher?: FSWatcher;
  private poll?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private reloading: Promise<void> = Promise.resolve();
  private onChange: (scopes: LicenceScope[]) => void = () => undefined;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
    private readonly pollMs = 500,
  ) {}

  lookup(kind: LicenceScopeKind, id: string): Licence | undefined {
    return (kind === 'user' ? this.entries.users : this.entries.tenants).get(id);
  }

  /** Reads the file once: a registry that cannot be read at start stops the gateway. */
  async start(onChange: (scopes: LicenceScope[]) => void): Promise<void> {
    this.onChange = onChange;
    const text = await readFile(this.path, 'utf8');
    try {
      this.entries = parseRegistryDocument(text);
    } catch (error) {
      throw new Error(`LICENCE_REGISTRY file ${this.path} is invalid: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.lastText = text;
    this.logger.info({ path: this.path, users: this.entries.users.size, tenants: this.entries.tenants.size }, 'licence registry loaded');
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        if (filename === null || filename === basename(this.path)) this.scheduleReload();
      });
      this.watcher.on('error', (error) => this.logger.warn({ err: error, path: this.path }, 'licence registry watch failed; polling only'));
    } catch (error) {
      this.logger.warn({ err: error, path: this.path }, 'licence registry cannot be watched; polling only');
    }
    this.poll = setInterval(() => void this.pollStat(), this.pollMs);
    this.poll.unref();
  }

  stop(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.poll);
    clearTimeout(this.debounce);
    return this.reloading;
  }

  private async pollStat(): Promise<void> {
    try {
      const s = await stat(this.path);
      const signature = `${s.ino}:${s.size}:${s.mtimeMs}`;
      if (signature === this.lastStat) return;
      this.lastStat = signature;
      this.scheduleReload();
    } catch {
      // Missing for a moment (an editor's rename, a config map swap): the last good entries stay.
    }
  }

  /** Editors write in bursts (truncate, write, rename): read once they have settled. */
  private scheduleReload(): void {
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.reloading = this.reloading.then(() => this.reload());
    }, 50);
    this.debounce.unref();
  }

  private async reload(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch {
      return;
    }
    if (text === this.lastText) return;
    let next: RegistryEntries;
    try {
      next = parseRegistryDocument(text);
    } catch (error) {
      if (text !== this.lastRejectedText) {
        this.lastRejectedText = text;
        this.logger.error({ path: this.path, reason: error instanceof Error ? error.message : String(error) }, 'licence registry file is invalid; keeping the last good version');
      }
      return;
    }
    const scopes = changedScopes(this.entries, next);
    this.entries = next;
    this.lastText = text;
    this.logger.info({ path: this.path, changed: scopes.length }, 'licence registry reloaded');
    if (scopes.length > 0) this.onChange(scopes);
  }
}
