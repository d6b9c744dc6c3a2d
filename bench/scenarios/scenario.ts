import type { EngineSource } from '../engine-load.js';
import type { CoreLayout } from '../lib/processes.js';
import type { BenchOptions, ScenarioName } from '../options.js';
import type { Profile } from '../profiles.js';
import type { TargetName, TargetSpec } from '../targets.js';

/** What every scenario of a run shares. */
export interface RunContext {
  options: BenchOptions;
  layout: CoreLayout;
  runDir: string;
  jwtSecret: string;
  engineSource: EngineSource;
  log(message: string): void;
}

/** A scenario's figures for one target, by column key; NaN where a figure could not be measured. */
export type Figures = Record<string, number>;

export interface ScenarioOutcome {
  figures: Figures;
  /** Anything a reader needs to trust the figures: rejections, failures, a saturated load generator... */
  notes: string[];
}

export interface Column {
  key: string;
  header: string;
  format: (value: number) => string;
}

export interface Scenario {
  name: ScenarioName;
  title(profile: Profile): string;
  columns: Column[];
  /** The targets it applies to, when not every one (the SDK scenarios measure the client against the gateway). */
  targets?: readonly TargetName[];
  run(context: RunContext, target: TargetSpec): Promise<ScenarioOutcome>;
  /** Targets the scenario makes sense for (all when absent). */
  appliesTo?(target: TargetSpec): boolean;
}
