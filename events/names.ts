/**
 * The names the contracts themselves carry: the prefix every stackpilot resource name starts
 * with (what the EventBridge patterns match on) and the app's ECR repository (what a release
 * input's image must name). The contracts sit at the bottom: `shared/naming.ts` builds every
 * other name on these, never the other way around.
 */

/** Prefix of every stackpilot resource name. */
export const PREFIX = 'stackpilot';

/** ECR repository of an app (shared by its stages). */
export function ecrRepositoryName(app: string): string {
  return `${PREFIX}/${app}`;
}
