import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { METRICS } from './metric-names.js';

/** Sharia screening: refusals at subscribe, live streams stopped, and the screen's own state. */
@Injectable()
export class ComplianceMetrics {
  constructor(
    @InjectMetric(METRICS.complianceRefusals) private readonly refusals: Counter<string>,
    @InjectMetric(METRICS.complianceStreamsStopped) private readonly streamsStopped: Counter<string>,
    @InjectMetric(METRICS.complianceScreenChanges) private readonly screenChanges: Counter<string>,
    @InjectMetric(METRICS.complianceScreenReloadFailures) private readonly reloadFailures: Counter<string>,
    @InjectMetric(METRICS.complianceScreenFileRejected) private readonly fileRejected: Gauge<string>,
    @InjectMetric(METRICS.complianceScreenInfo) private readonly screenInfo: Gauge<string>,
    @InjectMetric(METRICS.complianceScreenInstruments) private readonly screenInstruments: Gauge<string>,
  ) {}

  /** A subscribe item refused with NOT_COMPLIANT. */
  refused(board: string, reason: string): void {
    this.refusals.labels(boardLabel(board, reason), reason).inc();
  }

  /** A live stream stopped with NOT_COMPLIANT after the screen changed. */
  stopped(board: string, reason: string): void {
    this.streamsStopped.labels(boardLabel(board, reason), reason).inc();
  }

  /** The screen changed (a reloaded file, or an engine event). */
  screenChanged(source: string): void {
    this.screenChanges.labels(source).inc();
  }

  /** The file was rewritten with something malformed: the last good screen stays in force until it reads well again. */
  reloadFailed(): void {
    this.reloadFailures.inc();
    this.fileRejected.set(1);
  }

  /** The file reads well again (a new version, or the one in force restored). */
  fileAccepted(): void {
    this.fileRejected.set(0);
  }

  /** The screen in force: its version (as a label) and how many instruments each board finds compliant or not. */
  screenState(version: string, summary: { board: string; status: string; count: number }[]): void {
    this.screenInfo.reset();
    this.screenInfo.labels(version).set(1);
    this.screenInstruments.reset();
    for (const { board, status, count } of summary) this.screenInstruments.labels(board, status).set(count);
  }
}

/** A board the screen does not know comes from a token's claim: it is not a label value, or any string could be one. */
function boardLabel(board: string, reason: string): string {
  return reason === 'unknown_board' ? 'unknown' : board;
}
