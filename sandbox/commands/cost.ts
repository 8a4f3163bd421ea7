/**
 * `stackpilot cost`: the monthly estimate of a stage for both scale tiers, and which one
 * is cheaper. The stage comes from `stackpilot.yml` (`--app`, `--stage`) or from flags;
 * flags win over the configuration.
 */
import { parseArgs } from 'node:util';
import { ConfigError, findStage, type StageRef } from '#shared/config.ts';
import { loadConfigFile } from '#shared/config-file.ts';
import {
  completeTraffic,
  DEFAULT_USAGE,
  type Estimate,
  estimateStage,
  type StageUsage,
  TIERS,
  UnknownInstanceType,
} from '#shared/cost/model.ts';
import { defaultPriceTable, type PriceTable } from '#shared/cost/prices.ts';
import { deployHeadroom, instanceResources, tasksPerInstance } from '#shared/scaling/capacity.ts';

export interface CommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

/** Exit codes: 0 done, 1 the configuration file is unreadable or invalid, 2 bad flags. */
export const EXIT = { ok: 0, config: 1, usage: 2 } as const;

export const COST_USAGE = `usage: stackpilot cost [--app NAME --stage NAME] [--config FILE]
                      [--instance-type TYPE] [--instances N] [--tasks N]
                      [--requests-per-month N] [--new-connections-per-minute N] [--gb-per-hour N]
                      [--region REGION] [--json]`;

const options = {
  app: { type: 'string' },
  stage: { type: 'string' },
  config: { type: 'string' },
  'instance-type': { type: 'string' },
  instances: { type: 'string' },
  tasks: { type: 'string' },
  'requests-per-month': { type: 'string' },
  'new-connections-per-minute': { type: 'string' },
  'gb-per-hour': { type: 'string' },
  region: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** A flag value that is not what the flag takes. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

function number(
  flag: string,
  value: string | undefined,
  { integer = false, min = 0 } = {},
): number | undefined {
  if (value === undefined) return undefined;
  // Accept 432000000, 432_000_000 and 432,000,000.
  const parsed = Number(value.replaceAll(/[_,]/g, ''));
  if (
    value.trim() === '' ||
    !Number.isFinite(parsed) ||
    parsed < min ||
    (integer && !Number.isInteger(parsed))
  ) {
    const wanted = integer ? `an integer of at least ${min}` : `a number of at least ${min}`;
    throw new UsageError(`--${flag} must be ${wanted}, got "${value}"`);
  }
  return parsed;
}

type Values = {
  [K in keyof typeof options]?: (typeof options)[K]['type'] extends 'boolean' ? boolean : string;
};

/**
 * The previews a stage runs (`previews.stage` of its app): each is one more task in the stage's
 * cluster, all month at worst (until its TTL), and the instances that many more tasks need.
 */
export interface PreviewUsage {
  readonly max: number;
  readonly ttlHours: number;
  /** The stage's usage with `max` previews open: more tasks, and the instances they need. */
  readonly usage: StageUsage;
}

function previewUsageOf(ref: StageRef, usage: StageUsage): PreviewUsage | undefined {
  const previews = ref.appConfig.previews;
  if (!previews || previews.stage !== ref.stage) return undefined;
  const perInstance = tasksPerInstance(
    { cpu: ref.appConfig.cpu, memory: ref.appConfig.memory },
    instanceResources(ref.stageConfig.instanceType),
  );
  const tasks = usage.tasks + previews.max;
  const slots = tasks + deployHeadroom(ref.stageConfig.tasks.min, ref.stageConfig.deployment);
  const instances = Math.max(usage.instances, Math.ceil(slots / Math.max(1, perInstance)));
  return { max: previews.max, ttlHours: previews.ttlHours, usage: { ...usage, tasks, instances } };
}

/** The usage to price: the stage's configuration if named, then the flags over it. */
function usageFrom(values: Values, prices: PriceTable): { usage: StageUsage; label: string; ref?: StageRef } {
  if ((values.app === undefined) !== (values.stage === undefined)) {
    throw new UsageError('--app and --stage go together');
  }
  let usage: StageUsage = DEFAULT_USAGE;
  let label = 'a stage with the defaults';
  let found: StageRef | undefined;
  if (values.app !== undefined && values.stage !== undefined) {
    const config = loadConfigFile(values.config);
    const ref = findStage(config, values.app, values.stage);
    if (!ref) {
      const known = Object.entries(config.apps).flatMap(([app, a]) =>
        Object.keys(a.stages).map((s) => `${app}/${s}`),
      );
      throw new UsageError(
        `no stage ${values.app}/${values.stage} in the configuration (stages: ${known.join(', ')})`,
      );
    }
    usage = {
      ...usage,
      instanceType: ref.stageConfig.instanceType,
      instances: ref.stageConfig.instances.min,
      tasks: ref.stageConfig.tasks.min,
    };
    label = `${ref.app}/${ref.stage} (now ${ref.stageConfig.scale})`;
    found = ref;
  }
  if (values.region !== undefined && values.region !== prices.region) {
    throw new UsageError(`no price table for region ${values.region}: the table has ${prices.region} only`);
  }
  const traffic = completeTraffic({
    requestsPerMonth: number('requests-per-month', values['requests-per-month']),
    newConnectionsPerMinute: number('new-connections-per-minute', values['new-connections-per-minute']),
    gbPerHour: number('gb-per-hour', values['gb-per-hour']),
  });
  usage = {
    ...usage,
    ...traffic,
    instanceType: values['instance-type'] ?? usage.instanceType,
    instances: number('instances', values.instances, { integer: true, min: 1 }) ?? usage.instances,
    tasks: number('tasks', values.tasks, { integer: true, min: 0 }) ?? usage.tasks,
  };
  return { usage, label, ...(found ? { ref: found } : {}) };
}

const money = (n: number) => `$${n.toFixed(2)}`;
const count = (n: number) => Math.round(n).toLocaleString('en-US');

/** The estimate as a table, the tiers side by side. */
export function formatEstimate(estimate: Estimate, label: string, hoursPerMonth: number): string {
  const { usage, tiers } = estimate;
  const names = [...new Set(TIERS.flatMap((tier) => tiers[tier].items.map((item) => item.name)))];
  const width = Math.max(...names.map((n) => n.length), 'total per month'.length) + 2;
  const cell = (tier: (typeof TIERS)[number], name: string) => {
    const item = tiers[tier].items.find((i) => i.name === name);
    return (item ? money(item.monthly) : '-').padStart(12);
  };
  const lines = [
    `stackpilot cost: ${label}`,
    `prices of ${estimate.priceDate}, ${estimate.region}, ${hoursPerMonth} hours a month`,
    `usage: ${usage.instances} × ${usage.instanceType}, ${usage.tasks} task(s), ${count(usage.requestsPerMonth)} requests a month, ` +
      `${count(usage.newConnectionsPerMinute)} new connections a minute, ${usage.gbPerHour.toFixed(2)} GB an hour`,
    '',
    `${''.padEnd(width)}${'standard'.padStart(12)}${'hyperscale'.padStart(12)}`,
    ...names.map((name) => `${name.padEnd(width)}${cell('standard', name)}${cell('hyperscale', name)}`),
    `${'total per month'.padEnd(width)}${money(tiers.standard.total).padStart(12)}${money(tiers.hyperscale.total).padStart(12)}`,
    '',
  ];
  const other = estimate.recommended === 'standard' ? 'hyperscale' : 'standard';
  const saving = tiers[other].total - tiers[estimate.recommended].total;
  const breakEven = Number.isFinite(estimate.breakEvenRequestsPerMonth)
    ? `; hyperscale is the cheaper tier above about ${count(estimate.breakEvenRequestsPerMonth / 1e6)} million requests a month`
    : '';
  lines.push(
    `recommended: ${estimate.recommended} (${money(saving)} a month less than ${other})${breakEven}.`,
  );
  return `${lines.join('\n')}\n`;
}

/** What the stage's previews add, at most: `max` of them open all month. */
function formatPreviews(estimate: Estimate, withPreviews: Estimate, previews: PreviewUsage): string {
  const more = (tier: (typeof TIERS)[number]) =>
    money(withPreviews.tiers[tier].total - estimate.tiers[tier].total);
  const { usage } = previews;
  return (
    `previews: up to ${previews.max} open (a task each in this cluster, removed after ${previews.ttlHours} h without a push); ` +
    `with all ${previews.max} open all month: ${usage.tasks} task(s) on ${usage.instances} × ${usage.instanceType}, ` +
    `+${more('standard')} standard, +${more('hyperscale')} hyperscale a month.\n`
  );
}

/** Runs `stackpilot cost` with its arguments (after `cost`); returns the exit code. */
export function costCommand(argv: string[], io: CommandIo, prices: PriceTable = defaultPriceTable()): number {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    // parseArgs explains some errors over several lines: keep the message to one.
    const message = (error as Error).message.replaceAll(/\s*\n\s*/g, ' ');
    io.stderr.write(`stackpilot cost: ${message} (stackpilot cost --help lists the flags)\n`);
    return EXIT.usage;
  }
  if (values.help) {
    io.stdout.write(`${COST_USAGE}\n`);
    return EXIT.ok;
  }
  try {
    const { usage, label, ref } = usageFrom(values, prices);
    const estimate = estimateStage(prices, usage);
    const previews = ref && previewUsageOf(ref, usage);
    const withPreviews = previews && estimateStage(prices, previews.usage);
    if (values.json) {
      const more = previews && withPreviews ? { previews: { ...previews, estimate: withPreviews } } : {};
      io.stdout.write(`${JSON.stringify({ ...estimate, ...more }, null, 2)}\n`);
      return EXIT.ok;
    }
    io.stdout.write(formatEstimate(estimate, label, prices.hoursPerMonth));
    if (previews && withPreviews) io.stdout.write(formatPreviews(estimate, withPreviews, previews));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError || error instanceof UnknownInstanceType) {
      io.stderr.write(`stackpilot cost: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      io.stderr.write(`stackpilot cost: ${error.message}\n`);
      return EXIT.config;
    }
    throw error;
  }
}
