import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  albLcuMonthly,
  albLcus,
  completeTraffic,
  DEFAULT_USAGE,
  estimateStage,
  estimateTier,
  httpApiMonthly,
  instanceMonthly,
  type StageUsage,
  TRAFFIC_MINUTES_PER_MONTH,
  UnknownInstanceType,
} from '../../../shared/cost/model.ts';
import { defaultPriceTable, priceTableSchema } from '../../../shared/cost/prices.ts';

/**
 * TinyStacks' "typical development stack" (about $46 a month), in stackpilot's terms: the
 * hyperscale tier (an ALB billed for one LCU around the clock, its two public addresses),
 * one t3.micro with its 30 GB disk and public address, four alarms, 1 GB of logs, 2 GB of
 * images and 30 builds of 5 minutes a month.
 */
const TYPICAL_DEVELOPMENT_STACK: StageUsage = {
  ...DEFAULT_USAGE,
  instanceType: 't3.micro',
  instances: 1,
  // One LCU: 25 new connections a second, one a request.
  newConnectionsPerMinute: 25 * 60,
  requestsPerMonth: 25 * 60 * TRAFFIC_MINUTES_PER_MONTH,
  gbPerHour: 1,
};

const prices = defaultPriceTable();

/** TinyStacks' figures are rounded; "reproduce" means within 5%. */
const within5Percent = (actual: number, expected: number) => {
  expect(Math.abs(actual - expected) / expected).toBeLessThanOrEqual(0.05);
};

describe('price table', () => {
  it('is dated and tagged with its region', () => {
    expect(prices.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(prices.region).toBe('us-east-1');
    expect(prices.hoursPerMonth).toBe(730);
  });

  it('refuses a table with a missing price', () => {
    const { ebsGp3PerGbMonth: _dropped, ...broken } = prices;
    expect(priceTableSchema.safeParse(broken).success).toBe(false);
  });
});

describe("TinyStacks' worked examples", () => {
  it('needs about 6.68 LCUs for 10,000 new connections a minute and 3 GB an hour', () => {
    const lcus = albLcus(prices, { newConnectionsPerMinute: 10_000, gbPerHour: 3 });
    within5Percent(lcus, 6.68);
    expect(lcus).toBeCloseTo(6.667, 3);
  });

  it('charges about $40 a month of LCUs for that traffic', () => {
    const monthly = albLcuMonthly(prices, albLcus(prices, { newConnectionsPerMinute: 10_000, gbPerHour: 3 }));
    within5Percent(monthly, 40);
    expect(monthly).toBeCloseTo(38.93, 2);
  });

  it('charges about $432 for the same 432 million requests through API Gateway', () => {
    const monthly = httpApiMonthly(prices, 432_000_000);
    within5Percent(monthly, 432);
    // $1.00 a million for the first 300 million, $0.90 after.
    expect(monthly).toBeCloseTo(300 + 132 * 0.9, 6);
  });

  it('treats 10,000 new connections a minute as 432 million requests a month (one connection a request)', () => {
    expect(completeTraffic({ newConnectionsPerMinute: 10_000 }).requestsPerMonth).toBe(432_000_000);
    const fromRequests = completeTraffic({ requestsPerMonth: 432_000_000 });
    expect(fromRequests.newConnectionsPerMinute).toBeCloseTo(10_000, 6);
    expect(fromRequests.gbPerHour).toBeCloseTo(3, 6);
  });

  it('prices a t3.micro at about $8 a month', () => {
    const monthly = instanceMonthly(prices, 't3.micro');
    // $0.0104 × 730 h = $7.59: TinyStacks rounded it to $8 (5.1% above).
    expect(monthly).toBeCloseTo(7.592, 3);
    expect(Math.round(monthly)).toBe(8);
  });

  it('prices a typical development stack at about $46 a month', () => {
    const estimate = estimateTier(prices, TYPICAL_DEVELOPMENT_STACK, 'hyperscale');
    within5Percent(estimate.total, 46);
    expect(estimate.items.map((i) => i.name)).toEqual([
      'EC2 instances (1 × t3.micro)',
      'EBS root volumes (gp3)',
      'Public IPv4 of instances',
      'CloudWatch alarms and logs',
      'ECR image storage',
      'Builds (CodeBuild small, CodePipeline V2)',
      'Application Load Balancer hours',
      'Application Load Balancer LCUs',
      'Public IPv4 of the load balancer',
    ]);
  });
});

describe('tier comparison', () => {
  it('recommends standard for a light development stage', () => {
    const estimate = estimateStage(prices, DEFAULT_USAGE);
    expect(estimate.recommended).toBe('standard');
    expect(estimate.tiers.standard.total).toBeLessThan(estimate.tiers.hyperscale.total);
  });

  it('recommends hyperscale for the 432-million-request example', () => {
    const estimate = estimateStage(prices, {
      ...DEFAULT_USAGE,
      ...completeTraffic({ requestsPerMonth: 432e6 }),
    });
    expect(estimate.recommended).toBe('hyperscale');
  });

  it('puts the break-even where both tiers cost the same', () => {
    const estimate = estimateStage(prices, DEFAULT_USAGE);
    const atBreakEven = {
      ...DEFAULT_USAGE,
      ...completeTraffic({ requestsPerMonth: estimate.breakEvenRequestsPerMonth }),
    };
    const both = estimateStage(prices, atBreakEven).tiers;
    expect(Math.abs(both.standard.total - both.hyperscale.total)).toBeLessThan(0.01);
    expect(estimate.breakEvenRequestsPerMonth).toBeGreaterThan(20e6);
    expect(estimate.breakEvenRequestsPerMonth).toBeLessThan(30e6);
  });

  it('never lets a tier cost less with more traffic or more instances', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 5e9, noNaN: true }),
        fc.double({ min: 0, max: 5e9, noNaN: true }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 0, max: 20 }),
        (requestsA, requestsB, instances, extra) => {
          const [low, high] = requestsA <= requestsB ? [requestsA, requestsB] : [requestsB, requestsA];
          const usage = (requests: number, n: number) => ({
            ...DEFAULT_USAGE,
            ...completeTraffic({ requestsPerMonth: requests }),
            instances: n,
          });
          for (const tier of ['standard', 'hyperscale'] as const) {
            const cheap = estimateTier(prices, usage(low, instances), tier).total;
            const dear = estimateTier(prices, usage(high, instances + extra), tier).total;
            expect(dear).toBeGreaterThanOrEqual(cheap - 1e-9);
          }
        },
      ),
    );
  });

  it('prices every instance type of the table, the m3 types of TinyStacks hyperscale included', () => {
    expect(Object.keys(prices.ec2PerHour)).toEqual(expect.arrayContaining(['m3.medium', 'm3.large']));
    for (const [type, hourly] of Object.entries(prices.ec2PerHour)) {
      expect(instanceMonthly(prices, type)).toBeCloseTo(hourly * prices.hoursPerMonth, 6);
    }
  });

  it('lists the known types when it has no price for one', () => {
    expect(() => instanceMonthly(prices, 'm1.small')).toThrow(/known: .*m3\.large.*m3\.medium.*t3\.micro/);
  });

  it('names the instance type the table has no price for', () => {
    expect(() => instanceMonthly(prices, 'z9.huge')).toThrow(UnknownInstanceType);
    expect(() => instanceMonthly(prices, 'z9.huge')).toThrow(/z9\.huge.*us-east-1/);
  });
});
