/**
 * How a stage tells a healthy release from a broken one: the app container's health check
 * (ECS replaces a task that fails it, and the deployment circuit breaker fails a rollout
 * whose tasks keep failing it) in both tiers, the load balancer's target health check too in
 * hyperscale, and after the rollout a bake window watched by the front door's 5xx-rate alarm
 * (ECS deployment alarms roll the service back when it fires).
 *
 * One place for the defaults and the rendering, shared by the schema, the CDK app and the release.
 */
import * as z from 'zod';

/** ECS's own bounds for a container health check (RegisterTaskDefinition refuses others). */
export const healthCheckSchema = z
  .object({
    /** false: no container health check (only crashes, and in hyperscale the load balancer, fail a release). */
    enabled: z.boolean().default(true),
    /**
     * The check, as ECS takes it: `["CMD", "/app/healthcheck"]` or `["CMD-SHELL", "…"]`.
     * @default an HTTP GET of healthCheckPath on the container port with wget, else curl
     */
    command: z
      .array(z.string().min(1))
      .min(2)
      .refine((c) => c[0] === 'CMD' || c[0] === 'CMD-SHELL', 'starts with "CMD" or "CMD-SHELL"')
      .optional(),
    intervalSeconds: z.number().int().min(5).max(300).default(10),
    timeoutSeconds: z.number().int().min(2).max(60).default(5),
    retries: z.number().int().min(1).max(10).default(3),
    /** Failures during this time after the start do not count (the app may warm up). */
    startPeriodSeconds: z.number().int().min(0).max(300).default(30),
  })
  .strict()
  .refine((h) => h.timeoutSeconds < h.intervalSeconds, {
    message: 'timeoutSeconds must be less than intervalSeconds',
    path: ['timeoutSeconds'],
  });
export type HealthCheckConfig = z.output<typeof healthCheckSchema>;

/**
 * The default check of an HTTP app: GET `path` on the container port, 2xx/3xx healthy. wget
 * first (BusyBox and Alpine have it, and so the placeholder), curl for Debian-based images.
 * 127.0.0.1 rather than localhost: `localhost` may resolve to ::1 while the app listens on IPv4.
 */
export function defaultHealthCheckCommand(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  return ['CMD-SHELL', `wget -q -O /dev/null '${url}' || curl -fsS -o /dev/null '${url}'`];
}

/** The app's health check command: the configured one, else {@link defaultHealthCheckCommand}. */
export function healthCheckCommand(health: HealthCheckConfig, port: number, path: string): string[] {
  return health.command ?? defaultHealthCheckCommand(port, path);
}

/** One line for a release's Cause: which check the new tasks failed. */
export function describeHealthCheck(health: HealthCheckConfig, port: number, path: string): string {
  if (!health.enabled) return 'no container health check (healthCheck.enabled is false)';
  const what = health.command ? `"${health.command.slice(1).join(' ')}"` : `GET ${path} on port ${port}`;
  return `container health check ${what} every ${health.intervalSeconds} s, ${health.retries} retries after a ${health.startPeriodSeconds} s start period`;
}

/** Bake window and 5xx-rate alarm of a stage (`deployment` in stackpilot.yml). */
export interface BakeConfig {
  readonly bakeMinutes: number;
  readonly errorRatePercent: number;
  readonly timeoutMinutes: number;
}

/**
 * How long a release waits for its deployment: the rollout's own timeout plus the bake
 * window, during which ECS keeps the deployment IN_PROGRESS while it watches the alarm.
 */
export function releaseTimeoutMinutes(deployment: BakeConfig): number {
  return deployment.timeoutMinutes + deployment.bakeMinutes;
}

/**
 * Period and periods of the 5xx-rate alarm. ECS computes the bake time of a rolling
 * deployment from its alarms' configuration (it cannot be set for rolling updates), so the
 * alarm looks back over the bake window: `bakeMinutes` one-minute periods, of which two (one
 * for a one-minute window) must breach, so a single bad minute does not roll back.
 */
export function errorRateAlarmShape(bakeMinutes: number): {
  periodSeconds: number;
  evaluationPeriods: number;
  datapointsToAlarm: number;
} {
  const evaluationPeriods = Math.max(1, bakeMinutes);
  return { periodSeconds: 60, evaluationPeriods, datapointsToAlarm: Math.min(2, evaluationPeriods) };
}

/** Fewer requests than this in a minute never breach: one failed request of two is no signal. */
export const MIN_REQUESTS_PER_MINUTE = 10;
