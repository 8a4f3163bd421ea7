/**
 * The monthly cost of one app stage, for both scale tiers, from a price table.
 *
 * Pure functions: usage in, line items out. The model follows TinyStacks' published
 * reasoning (an ALB hour is billed on its busiest LCU dimension; HTTP API requests are
 * billed per million) and adds what a stackpilot stage really runs: EC2 instances with
 * their disks and public IPv4 addresses, Cloud Map for the standard tier, the ALB's own
 * public addresses, alarms, logs, ECR storage, builds and pipeline minutes.
 */
import type { PriceTable } from './prices.ts';

export type Tier = 'standard' | 'hyperscale';
export const TIERS: readonly Tier[] = ['standard', 'hyperscale'];

/** What a stage runs and serves in a month. */
export interface StageUsage {
  readonly instanceType: string;
  /** Container instances running all month. */
  readonly instances: number;
  /** Tasks running all month (each is one Cloud Map registration in the standard tier). */
  readonly tasks: number;
  readonly requestsPerMonth: number;
  /** New connections a minute at the load balancer (hyperscale LCUs). */
  readonly newConnectionsPerMinute: number;
  /** Bytes processed by the load balancer, in GB an hour (hyperscale LCUs). */
  readonly gbPerHour: number;
  /** Concurrent connections (hyperscale LCUs). */
  readonly activeConnectionsPerMinute: number;
  /** Root volume of each instance (the ECS-optimized AMI needs 30 GB). */
  readonly volumeGb: number;
  readonly alarms: number;
  readonly logsGbPerMonth: number;
  readonly imagesGb: number;
  readonly buildsPerMonth: number;
  readonly buildMinutes: number;
  /** Pipeline action minutes per run beyond the build (source and release). */
  readonly otherActionMinutesPerRun: number;
}

/** TinyStacks' month for traffic conversions: 30 days (10,000 a minute = 432 million). */
export const TRAFFIC_MINUTES_PER_MONTH = 30 * 24 * 60;

/** 5 KB in GB: the bytes per request of TinyStacks' example (3 GB / 600,000 requests an hour). */
export const GB_PER_REQUEST = 5e3 / 1e9;

/**
 * Usage defaults: a development stage with light traffic. TinyStacks' worked example has
 * 10,000 new connections a minute, 3 GB an hour and 432 million requests a month: one new
 * connection per request and about 5 KB per request, the ratios used here to derive what
 * is not given.
 */
export const DEFAULT_USAGE: StageUsage = {
  instanceType: 't3.micro',
  instances: 1,
  tasks: 1,
  requestsPerMonth: 1_000_000,
  newConnectionsPerMinute: 1_000_000 / TRAFFIC_MINUTES_PER_MONTH,
  gbPerHour: (1_000_000 / (TRAFFIC_MINUTES_PER_MONTH / 60)) * GB_PER_REQUEST,
  activeConnectionsPerMinute: 0,
  volumeGb: 30,
  alarms: 4,
  logsGbPerMonth: 1,
  imagesGb: 2,
  buildsPerMonth: 30,
  buildMinutes: 5,
  otherActionMinutesPerRun: 2,
};

/** Traffic given in any of its three forms, completed from the others with the ratios above. */
export function completeTraffic(traffic: {
  requestsPerMonth?: number;
  newConnectionsPerMinute?: number;
  gbPerHour?: number;
}): { requestsPerMonth: number; newConnectionsPerMinute: number; gbPerHour: number } {
  const requestsPerMonth =
    traffic.requestsPerMonth ??
    (traffic.newConnectionsPerMinute !== undefined
      ? traffic.newConnectionsPerMinute * TRAFFIC_MINUTES_PER_MONTH
      : traffic.gbPerHour !== undefined
        ? (traffic.gbPerHour / GB_PER_REQUEST) * (TRAFFIC_MINUTES_PER_MONTH / 60)
        : DEFAULT_USAGE.requestsPerMonth);
  const requestsPerHour = requestsPerMonth / (TRAFFIC_MINUTES_PER_MONTH / 60);
  return {
    requestsPerMonth,
    newConnectionsPerMinute: traffic.newConnectionsPerMinute ?? requestsPerHour / 60,
    gbPerHour: traffic.gbPerHour ?? requestsPerHour * GB_PER_REQUEST,
  };
}

export interface LineItem {
  readonly name: string;
  readonly monthly: number;
  /** How the figure was computed, for the reader. */
  readonly detail: string;
}

export interface TierEstimate {
  readonly tier: Tier;
  readonly items: LineItem[];
  readonly total: number;
}

export interface Estimate {
  readonly priceDate: string;
  readonly region: string;
  readonly usage: StageUsage;
  readonly tiers: Record<Tier, TierEstimate>;
  readonly recommended: Tier;
  /** Requests a month above which hyperscale is the cheaper tier (same instances). */
  readonly breakEvenRequestsPerMonth: number;
}

/** An instance type the price table has no price for. */
export class UnknownInstanceType extends Error {
  override readonly name = 'UnknownInstanceType';
}

/** LCUs an ALB consumes: the largest of its four dimensions (rule evaluations: the first 10 rules are free). */
export function albLcus(
  prices: PriceTable,
  traffic: { newConnectionsPerMinute: number; gbPerHour: number; activeConnectionsPerMinute?: number },
): number {
  const lcu = prices.alb.lcu;
  return Math.max(
    traffic.newConnectionsPerMinute / 60 / lcu.newConnectionsPerSecond,
    (traffic.activeConnectionsPerMinute ?? 0) / lcu.activeConnectionsPerMinute,
    traffic.gbPerHour / lcu.processedGbPerHour,
  );
}

/** Monthly LCU charge of an ALB at a steady traffic. */
export function albLcuMonthly(prices: PriceTable, lcus: number): number {
  return lcus * prices.alb.perLcuHour * prices.hoursPerMonth;
}

/** HTTP API request charge, tier by tier. */
export function httpApiMonthly(prices: PriceTable, requestsPerMonth: number): number {
  let remaining = requestsPerMonth / 1e6;
  let total = 0;
  for (const tier of prices.httpApi.perMillionRequests) {
    const inTier = tier.firstMillions === null ? remaining : Math.min(remaining, tier.firstMillions);
    total += inTier * tier.price;
    remaining -= inTier;
    if (remaining <= 0) break;
  }
  return total;
}

/** Monthly price of one instance running all month. */
export function instanceMonthly(prices: PriceTable, instanceType: string): number {
  const hourly = prices.ec2PerHour[instanceType];
  if (hourly === undefined) {
    throw new UnknownInstanceType(
      `no price for instance type ${instanceType} in the ${prices.region} table of ${prices.date} (known: ${Object.keys(prices.ec2PerHour).join(', ')})`,
    );
  }
  return hourly * prices.hoursPerMonth;
}

const dollars = (n: number) => `$${n.toFixed(2)}`;

function commonItems(prices: PriceTable, usage: StageUsage): LineItem[] {
  const hours = prices.hoursPerMonth;
  const instance = instanceMonthly(prices, usage.instanceType);
  const pipelineMinutes = usage.buildsPerMonth * (usage.buildMinutes + usage.otherActionMinutesPerRun);
  return [
    {
      name: `EC2 instances (${usage.instances} × ${usage.instanceType})`,
      monthly: usage.instances * instance,
      detail: `${usage.instances} × ${dollars(prices.ec2PerHour[usage.instanceType] ?? 0)}/h × ${hours} h`,
    },
    {
      name: 'EBS root volumes (gp3)',
      monthly: usage.instances * usage.volumeGb * prices.ebsGp3PerGbMonth,
      detail: `${usage.instances} × ${usage.volumeGb} GB × ${dollars(prices.ebsGp3PerGbMonth)}/GB`,
    },
    {
      name: 'Public IPv4 of instances',
      monthly: usage.instances * prices.publicIpv4PerHour * hours,
      detail: `${usage.instances} × ${dollars(prices.publicIpv4PerHour)}/h (no NAT gateway)`,
    },
    {
      name: 'CloudWatch alarms and logs',
      monthly:
        usage.alarms * prices.cloudWatch.alarmPerMonth +
        usage.logsGbPerMonth * (prices.cloudWatch.logsIngestPerGb + prices.cloudWatch.logsStoragePerGbMonth),
      detail: `${usage.alarms} alarms, ${usage.logsGbPerMonth} GB of logs`,
    },
    {
      name: 'ECR image storage',
      monthly: usage.imagesGb * prices.ecrStoragePerGbMonth,
      detail: `${usage.imagesGb} GB`,
    },
    {
      name: 'Builds (CodeBuild small, CodePipeline V2)',
      monthly:
        usage.buildsPerMonth * usage.buildMinutes * prices.codeBuildSmallPerMinute +
        pipelineMinutes * prices.codePipelineV2PerActionMinute,
      detail: `${usage.buildsPerMonth} builds × ${usage.buildMinutes} min; free tiers not deducted`,
    },
  ];
}

function tierItems(prices: PriceTable, usage: StageUsage, tier: Tier): LineItem[] {
  const hours = prices.hoursPerMonth;
  if (tier === 'standard') {
    return [
      {
        name: 'API Gateway HTTP API requests',
        monthly: httpApiMonthly(prices, usage.requestsPerMonth),
        detail: `${(usage.requestsPerMonth / 1e6).toLocaleString('en-US', { maximumFractionDigits: 2 })} million requests`,
      },
      {
        name: 'Cloud Map (private DNS zone, task registrations)',
        monthly:
          prices.cloudMap.privateHostedZonePerMonth +
          usage.tasks * prices.cloudMap.perRegisteredInstanceMonth,
        detail: `1 zone, ${usage.tasks} tasks`,
      },
    ];
  }
  const lcus = albLcus(prices, usage);
  return [
    {
      name: 'Application Load Balancer hours',
      monthly: prices.alb.perHour * hours,
      detail: `${dollars(prices.alb.perHour)}/h × ${hours} h`,
    },
    {
      name: 'Application Load Balancer LCUs',
      monthly: albLcuMonthly(prices, lcus),
      detail: `${lcus.toFixed(2)} LCU × ${dollars(prices.alb.perLcuHour)}/LCU-h × ${hours} h`,
    },
    {
      name: 'Public IPv4 of the load balancer',
      monthly: prices.alb.availabilityZones * prices.publicIpv4PerHour * hours,
      detail: `${prices.alb.availabilityZones} AZs × ${dollars(prices.publicIpv4PerHour)}/h`,
    },
  ];
}

/** The estimate of one tier. */
export function estimateTier(prices: PriceTable, usage: StageUsage, tier: Tier): TierEstimate {
  const items = [...commonItems(prices, usage), ...tierItems(prices, usage, tier)];
  return { tier, items, total: items.reduce((sum, item) => sum + item.monthly, 0) };
}

/** Requests a month where both tiers cost the same, traffic scaled with the usage's own ratios. */
export function breakEvenRequests(prices: PriceTable, usage: StageUsage): number {
  const perRequest = {
    connections: usage.requestsPerMonth > 0 ? usage.newConnectionsPerMinute / usage.requestsPerMonth : 0,
    gb: usage.requestsPerMonth > 0 ? usage.gbPerHour / usage.requestsPerMonth : 0,
  };
  const difference = (requests: number) => {
    const scaled: StageUsage = {
      ...usage,
      requestsPerMonth: requests,
      newConnectionsPerMinute: requests * perRequest.connections,
      gbPerHour: requests * perRequest.gb,
    };
    return estimateTier(prices, scaled, 'standard').total - estimateTier(prices, scaled, 'hyperscale').total;
  };
  // Standard gets dearer per request faster than hyperscale: bisect on the sign change.
  let low = 0;
  let high = 1e12;
  if (difference(high) < 0) return Number.POSITIVE_INFINITY;
  for (let i = 0; i < 200 && high - low > 1; i++) {
    const middle = (low + high) / 2;
    if (difference(middle) < 0) low = middle;
    else high = middle;
  }
  return high;
}

/** Both tiers, the cheaper one recommended. */
export function estimateStage(prices: PriceTable, usage: StageUsage): Estimate {
  const standard = estimateTier(prices, usage, 'standard');
  const hyperscale = estimateTier(prices, usage, 'hyperscale');
  return {
    priceDate: prices.date,
    region: prices.region,
    usage,
    tiers: { standard, hyperscale },
    recommended: standard.total <= hyperscale.total ? 'standard' : 'hyperscale',
    breakEvenRequestsPerMonth: breakEvenRequests(prices, usage),
  };
}
