import { createHash } from 'node:crypto';
import { readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  complianceReasonsProblem,
  COMPLIANCE_BOARD_PATTERN,
  INSTRUMENT_PATTERN,
  normalizeBoard,
  type ComplianceClaim,
  type ComplianceReason,
  type ComplianceStatus,
  type ValidScreenChange,
} from '#libs/contracts';
import type { EntitlementRefusal } from './entitlements.js';


/** The board applied when a token's `compliance` claim names none. */
export const DEFAULT_COMPLIANCE_BOARD = 'AAOIFI';

// The reasons, statuses and the engine event's validator are contracts (libs/contracts/engine-control-validators.ts):
// the publisher library checks with the same ones.
export { COMPLIANCE_REASONS, normalizeBoard, validateScreenChange, type ComplianceReason, type ComplianceStatus, type ValidScreenChange } from '#libs/contracts';
/** Reasons the gateway itself gives when the screen has no verdict: it fails closed. */
export type ComplianceGapReason = 'not_screened' | 'unknown_board';

export interface BoardVerdict {
  status: ComplianceStatus;
  reasons: ComplianceReason[];
}

export interface ComplianceRefusal extends EntitlementRefusal {
  code: 'NOT_COMPLIANT';
  board: string;
  reason: ComplianceReason | ComplianceGapReason;
}

export type ScreenChangeSource = 'file' | 'engine';

export type ComplianceScreenEvent =
  | { type: 'changed'; source: ScreenChangeSource; version: string; instruments: string[] }
  | { type: 'reload_failed'; path: string; error: string }
  /** The file reads well again after a rejected version, with the content already in force (so no `changed`). */
  | { type: 'reload_restored'; version: string };

/** The parts of a pino logger the screen uses (kept structural so this library does not depend on one). */
export interface ScreenLogger {
  info(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

export interface ComplianceScreenOptions {
  /** The stat fallback's interval: fs.watch misses changes on some file systems and volume mounts. */
  pollMs?: number;
  logger?: ScreenLogger;
}

export interface ScreenData {
  version: string;
  boards: string[];
  verdicts: Map<string, Map<string, BoardVerdict>>;
}

/** Thrown for a malformed screen file; the message names the file and the first problem found. */
export class ComplianceFileError extends Error {
  constructor(path: string, problem: string) {
    super(`COMPLIANCE_FILE ${path}: ${problem}`);
    this.name = 'ComplianceFileError';
  }
}

/**
 * The Sharia screen: per instrument and board, compliant or not, from COMPLIANCE_FILE, kept current while the gateway
 * runs. The file is reloaded when it changes (fs.watch on its directory, so an atomic rename is seen too, plus a
 * periodic stat); a file that no longer parses is logged and the last good screen stays. Engine `compliance.screen`
 * events change single verdicts on top of the file until a file with another version replaces them.
 *
 * Listeners hear of every change, so live subscriptions can be re-checked; the check itself is never on the
 * market-data hot path, only at subscribe and on a change.
 */
export class ComplianceScreen {
  private data: ScreenData;
  /** Engine changes applied over the file's verdicts; cleared when a file of another version is loaded. */
  private readonly overrides = new Map<string, Map<string, BoardVerdict>>();
  private overrideVersion: string | undefined;
  private readonly listeners = new Set<(event: ComplianceScreenEvent) => void>();
  private fingerprint: string;
  private statKey = '';
  /** The last read of the file was rejected: what is on disk is not what is in force. */
  private fileRejected = false;
  private watcher: FSWatcher | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private debounce: NodeJS.Timeout | undefined;

  private constructor(
    readonly path: string,
    text: string,
    private readonly options: ComplianceScreenOptions,
  ) {
    this.data = parseComplianceScreen(text, path);
    this.fingerprint = digest(text);
    this.statKey = statKeyOf(path);
  }

  /** Loads and validates the file; throws ComplianceFileError (the gateway refuses to start) when it is malformed. */
  static fromFile(path: string, options: ComplianceScreenOptions = {}): ComplianceScreen {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new ComplianceFileError(path, `cannot be read (${error instanceof Error ? error.message : String(error)})`);
    }
    return new ComplianceScreen(path, text, options);
  }

  get version(): string {
    return this.overrideVersion ?? this.data.version;
  }

  get boards(): string[] {
    return [...this.data.boards];
  }

  get instrumentCount(): number {
    return this.data.verdicts.size;
  }

  /** The board's verdict, or undefined when the screen has none (not screened, or a board the screen lacks). */
  verdict(instrument: string, board: string = DEFAULT_COMPLIANCE_BOARD): BoardVerdict | undefined {
    const key = normalizeBoard(board);
    return this.overrides.get(instrument)?.get(key) ?? this.data.verdicts.get(instrument)?.get(key);
  }

  /** Fail closed: an instrument the board has not screened is not compliant. */
  status(instrument: string, board: string = DEFAULT_COMPLIANCE_BOARD): ComplianceStatus {
    return this.verdict(instrument, board)?.status ?? 'non_compliant';
  }

  /** Counts of verdicts per board and status, for the screen's metrics. */
  summary(): { board: string; status: ComplianceStatus; count: number }[] {
    const counts = new Map<string, number>();
    for (const instrument of this.data.verdicts.keys()) {
      for (const board of this.data.boards) {
        const key = `${board}|${this.status(instrument, board)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    return [...counts].map(([key, count]) => {
      const [board, status] = key.split('|') as [string, ComplianceStatus];
      return { board, status, count };
    });
  }

  /**
   * Why a user with this compliance claim may not have data of `instrument`, or undefined when it may. Users without
   * an Islamic claim are never screened.
   */
  check(claim: ComplianceClaim | undefined, instrument: string): ComplianceRefusal | undefined {
    if (!claim?.islamic) return undefined;
    const board = normalizeBoard(claim.board ?? DEFAULT_COMPLIANCE_BOARD);
    if (!this.data.boards.includes(board) && !this.hasOverrideBoard(board)) {
      return refusal(board, 'unknown_board', `the compliance board ${board} is not in this gateway's screen, so nothing is served as compliant`);
    }
    const verdict = this.verdict(instrument, board);
    if (!verdict) return refusal(board, 'not_screened', `${instrument} has not been screened by ${board}`);
    if (verdict.status === 'compliant') return undefined;
    const reason = verdict.reasons[0] ?? 'board_decision';
    return refusal(board, reason, `${instrument} is not Sharia-compliant under ${board} (${verdict.reasons.join(', ') || reason})`);
  }

  /** Applies an engine `compliance.screen` change; returns false when it changed nothing. */
  apply(change: ValidScreenChange): boolean {
    const board = normalizeBoard(change.board);
    const current = this.verdict(change.instrument, board);
    const next: BoardVerdict = { status: change.status, reasons: change.reasons };
    if (current && current.status === next.status && sameReasons(current.reasons, next.reasons)) return false;
    let byBoard = this.overrides.get(change.instrument);
    if (!byBoard) {
      byBoard = new Map();
      this.overrides.set(change.instrument, byBoard);
    }
    byBoard.set(board, next);
    if (change.version) this.overrideVersion = change.version;
    this.emit({ type: 'changed', source: 'engine', version: this.version, instruments: [change.instrument] });
    return true;
  }

  onEvent(listener: (event: ComplianceScreenEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Starts following the file: fs.watch on its directory, and a stat every `pollMs` in case a change goes unseen. */
  watch(): void {
    if (this.watcher || this.pollTimer) return;
    const name = basename(this.path);
    try {
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        // Some platforms give no file name; a directory event then may concern the file.
        if (filename === null || filename === name || filename.startsWith('..')) this.scheduleReload();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined; // the stat fallback carries on alone
      });
    } catch {
      this.watcher = undefined;
    }
    const pollMs = this.options.pollMs ?? 5_000;
    this.pollTimer = setInterval(() => {
      if (statKeyOf(this.path) !== this.statKey) this.scheduleReload();
    }, pollMs);
    this.pollTimer.unref();
  }

  /**
   * Reads the file again. An unchanged content is a no-op; a malformed one is reported (logged, `reload_failed`) and
   * the last good screen stays in force.
   */
  reload(): 'changed' | 'unchanged' | 'failed' {
    this.statKey = statKeyOf(this.path);
    let text: string;
    let next: ScreenData;
    try {
      text = readFileSync(this.path, 'utf8');
      if (digest(text) === this.fingerprint) {
        if (this.fileRejected) {
          this.fileRejected = false;
          this.emit({ type: 'reload_restored', version: this.version });
        }
        return 'unchanged';
      }
      next = parseComplianceScreen(text, this.path);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger?.error({ path: this.path, err: message, keptVersion: this.version }, 'compliance screen file rejected; the last good screen stays in force');
      this.fileRejected = true;
      this.emit({ type: 'reload_failed', path: this.path, error: message });
      return 'failed';
    }
    this.fileRejected = false;
    const before = this.snapshotStatuses();
    const previousVersion = this.data.version;
    this.data = next;
    this.fingerprint = digest(text);
    if (next.version !== previousVersion) {
      // A new edition of the screen supersedes the interim changes the engine sent for the old one.
      this.overrides.clear();
      this.overrideVersion = undefined;
    }
    const after = this.snapshotStatuses();
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((instrument) => before.get(instrument) !== after.get(instrument));
    this.options.logger?.info({ path: this.path, version: this.version, instruments: this.data.verdicts.size, changed: changed.length }, 'compliance screen reloaded');
    this.emit({ type: 'changed', source: 'file', version: this.version, instruments: changed });
    return 'changed';
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
    clearTimeout(this.debounce);
  }

  private scheduleReload(): void {
    // Editors and copy tools write in several steps: wait for the writes to settle before reading.
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => this.reload(), 100);
    this.debounce.unref();
  }

  private hasOverrideBoard(board: string): boolean {
    for (const byBoard of this.overrides.values()) if (byBoard.has(board)) return true;
    return false;
  }

  /** Every instrument's statuses on every board, as one comparable string per instrument. */
  private snapshotStatuses(): Map<string, string> {
    const statuses = new Map<string, string>();
    const instruments = new Set([...this.data.verdicts.keys(), ...this.overrides.keys()]);
    for (const instrument of instruments) {
      statuses.set(instrument, this.data.boards.map((board) => `${board}=${this.verdict(instrument, board)?.status ?? '-'}`).join(','));
    }
    return statuses;
  }

  private emit(event: ComplianceScreenEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger?.error({ err: error instanceof Error ? error.message : String(error) }, 'compliance screen listener failed');
      }
    }
  }
}

/** Parses and validates a screen file's text; throws ComplianceFileError naming the first problem. */
export function parseComplianceScreen(text: string, path: string): ScreenData {
  const fail = (problem: string): never => {
    throw new ComplianceFileError(path, problem);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return fail(`is not valid JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isObject(parsed)) return fail('must hold a JSON object with metadata, boards and instruments');
  const { metadata, boards, instruments } = parsed;
  if (!isObject(metadata) || typeof metadata.version !== 'string' || metadata.version.length === 0) return fail('metadata.version must be a non-empty string');
  if (!isObject(boards) || Object.keys(boards).length === 0) return fail('boards must name at least one board');
  const boardIds: string[] = [];
  for (const [id, definition] of Object.entries(boards)) {
    if (!COMPLIANCE_BOARD_PATTERN.test(id) || id !== normalizeBoard(id)) fail(`board id "${id}" must be upper case letters, digits, "_", "&" or "-"`);
    if (!isObject(definition) || typeof definition.name !== 'string') fail(`boards.${id}.name must be a string`);
    boardIds.push(id);
  }
  if (!isObject(instruments) || Object.keys(instruments).length === 0) return fail('instruments must hold at least one instrument');
  const verdicts = new Map<string, Map<string, BoardVerdict>>();
  for (const [instrument, entry] of Object.entries(instruments)) {
    const at = `instruments["${instrument}"]`;
    if (!INSTRUMENT_PATTERN.test(instrument)) fail(`${at}: the key must be an EXCHANGE:SYMBOL instrument`);
    if (!isObject(entry)) return fail(`${at} must be an object`);
    if (entry.financials !== undefined) {
      if (!isObject(entry.financials)) fail(`${at}.financials must be an object`);
      for (const [field, value] of Object.entries(entry.financials as Record<string, unknown>)) {
        if (typeof value === 'number' && (!Number.isFinite(value) || value < 0)) fail(`${at}.financials.${field} must be a non-negative number`);
      }
    }
    if (!isObject(entry.screens)) return fail(`${at}.screens must map each board to { status, reasons }`);
    const byBoard = new Map<string, BoardVerdict>();
    for (const board of boardIds) {
      const screen = entry.screens[board];
      if (screen === undefined) continue; // not screened by this board: fail closed at check time
      if (!isObject(screen)) return fail(`${at}.screens.${board} must be an object`);
      if (screen.status !== 'compliant' && screen.status !== 'non_compliant') fail(`${at}.screens.${board}.status must be "compliant" or "non_compliant"`);
      const problem = complianceReasonsProblem(screen.reasons, screen.status as ComplianceStatus);
      if (problem) fail(`${at}.screens.${board}: ${problem}`);
      byBoard.set(board, { status: screen.status as ComplianceStatus, reasons: [...(screen.reasons as ComplianceReason[])] });
    }
    for (const board of Object.keys(entry.screens)) if (!boardIds.includes(board)) fail(`${at}.screens.${board}: no such board in boards`);
    verdicts.set(instrument, byBoard);
  }
  return { version: metadata.version, boards: boardIds, verdicts };
}


function refusal(board: string, reason: ComplianceRefusal['reason'], message: string): ComplianceRefusal {
  return { code: 'NOT_COMPLIANT', message, board, reason };
}

export function isComplianceRefusal(refusal: EntitlementRefusal | undefined | null): refusal is ComplianceRefusal {
  return refusal?.code === 'NOT_COMPLIANT' && typeof (refusal as Partial<ComplianceRefusal>).board === 'string';
}

function sameReasons(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((reason, i) => reason === b[i]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function statKeyOf(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return 'missing';
  }
}
