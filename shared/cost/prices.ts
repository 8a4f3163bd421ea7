/**
 * The price table of the cost estimate: data, not code (`prices.json`), dated and tagged
 * with its region, validated here so a bad edit fails loudly.
 */
import { readFileSync } from 'node:fs';
import * as z from 'zod';

const money = z.number().nonnegative();

export const priceTableSchema = z
  .object({
    /** Day the prices were read (ISO date). */
    date: z.iso.date(),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as "us-east-1"'),
    currency: z.literal('USD'),
    /** AWS prices a month as 730 hours. */
    hoursPerMonth: z.number().positive(),
    source: z.string(),
    ec2PerHour: z.record(z.string(), money),
    ebsGp3PerGbMonth: money,
    publicIpv4PerHour: money,
    alb: z.object({
      perHour: money,
      perLcuHour: money,
      /** An internet-facing ALB holds one public IPv4 address per availability zone. */
      availabilityZones: z.number().int().positive(),
      /** What one LCU covers, per dimension; an hour is billed on its largest dimension. */
      lcu: z.object({
        newConnectionsPerSecond: z.number().positive(),
        activeConnectionsPerMinute: z.number().positive(),
        processedGbPerHour: z.number().positive(),
        ruleEvaluationsPerSecond: z.number().positive(),
      }),
    }),
    httpApi: z.object({
      /** Tiers in order; `firstMillions: null` is the rest. */
      perMillionRequests: z
        .array(z.object({ firstMillions: z.number().positive().nullable(), price: money }))
        .min(1),
    }),
    cloudMap: z.object({ privateHostedZonePerMonth: money, perRegisteredInstanceMonth: money }),
    cloudWatch: z.object({ alarmPerMonth: money, logsIngestPerGb: money, logsStoragePerGbMonth: money }),
    ecrStoragePerGbMonth: money,
    codeBuildSmallPerMinute: money,
    codePipelineV2PerActionMinute: money,
  })
  .strict();

export type PriceTable = z.infer<typeof priceTableSchema>;

/** The price table shipped with stackpilot. */
export function defaultPriceTable(): PriceTable {
  const text = readFileSync(new URL('./prices.json', import.meta.url), 'utf8');
  return priceTableSchema.parse(JSON.parse(text));
}
