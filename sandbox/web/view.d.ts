/** Types of `view.js` (plain JavaScript, served as it is), for the unit tests. */

/** The parts of a `GET /stages` stage the page reads. */
export interface ViewStage {
  readonly app?: string;
  readonly stage?: string;
  readonly url?: unknown;
  readonly taskDefinition?: { readonly revision?: number; readonly image?: string };
  readonly alarms?: readonly { readonly name: string; readonly state: string }[];
  readonly instances?: readonly { readonly lifecycleState: string }[];
  readonly autoScalingGroup?: { readonly desired: number };
}

/** The parts of a `GET /executions` execution the page reads. */
export interface ViewExecution {
  readonly name: string;
  readonly status: string;
  readonly startDate: string;
  readonly statesEntered?: readonly string[];
  readonly input?: {
    readonly app?: unknown;
    readonly stage?: unknown;
    readonly 'detail-type'?: unknown;
    readonly detail?: { readonly alarmName?: unknown };
  };
}

export interface ViewSample {
  readonly t: number;
  readonly running: number;
  readonly desired: number;
  readonly instances: number;
}

export type SeriesKey = 'running' | 'desired' | 'instances';

export declare const SERIES: readonly { readonly key: SeriesKey; readonly label: string }[];
export declare function runningCommit(stage: ViewStage | undefined): string | undefined;
export declare function shortCommit(commit: unknown): string;
export declare function safeHttpUrl(value: unknown): string | undefined;
export declare function alarmsInAlarm(stage: ViewStage | undefined): string[];
export declare function instanceCounts(stage: ViewStage | undefined): { inService: number; desired?: number };
export declare function currentState(execution: ViewExecution | undefined): string;
export declare function executionTarget(execution: ViewExecution | undefined): string;
export declare function executionsToShow<T extends ViewExecution>(
  executions: readonly T[],
  ended?: number,
): T[];
export declare function chartLines(
  samples: readonly ViewSample[],
  box: { now: number; windowMs: number; width: number; height: number },
): {
  max: number;
  lines: { key: SeriesKey; label: string; points: string; last: number | undefined }[];
};
