import { useSyncExternalStore } from 'react';

/** The Events panel: what the page did and what the gateway told it, newest first, bounded. */

export type LogLevel = 'ok' | 'info' | 'warn' | 'error' | 'system';
export interface LogEntry {
  id: number;
  at: number;
  level: LogLevel;
  kind: string;
  message: string;
}

const LOG_MAX = 200;

export class EventLog {
  private entries: LogEntry[] = [];
  private nextId = 1;
  private readonly listeners = new Set<() => void>();

  add(level: LogLevel, kind: string, message: string): void {
    this.entries = [{ id: this.nextId++, at: Date.now(), level, kind, message }, ...this.entries].slice(0, LOG_MAX);
    for (const listener of this.listeners) listener();
  }

  clear(): void {
    this.entries = [];
    for (const listener of this.listeners) listener();
  }

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly snapshot = (): readonly LogEntry[] => this.entries;
}

export function useEventLog(log: EventLog): readonly LogEntry[] {
  return useSyncExternalStore(log.subscribe, log.snapshot);
}
