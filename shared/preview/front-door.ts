/**
 * What the `preview` state machine needs to know of a stage's front door to route a preview,
 * published by the stage's stack as the SSM String parameter `frontDoorParameter(app, stage)`
 * (a JSON document; CloudFormation fills in the identifiers at deploy time).
 *
 * - `standard`: the HTTP API, its VPC link and the Cloud Map namespace the stage's service is
 *   registered in; a preview adds a Cloud Map service, an integration and two routes
 *   (`/pr-<n>` and `/pr-<n>/{proxy+}`), the path rewritten to drop the prefix.
 * - `hyperscale`: the load balancer's serving listener and VPC; a preview adds a target group
 *   and a listener rule on the path prefix, with a URL rewrite that drops the prefix.
 */
import * as z from 'zod';
import { PREFIX } from '../naming.ts';

/** `/stackpilot/<app>/<stage>/front-door`. */
export function frontDoorParameter(app: string, stage: string): string {
  return `/${PREFIX}/${app}/${stage}/front-door`;
}

export const frontDoorSchema = z.discriminatedUnion('scale', [
  z
    .object({
      scale: z.literal('standard'),
      /** The stage's URL (`https://<api id>.execute-api.<region>.amazonaws.com` or its custom domain). */
      url: z.string().min(1),
      apiId: z.string().min(1),
      vpcLinkId: z.string().min(1),
      namespaceId: z.string().min(1),
    })
    .strict(),
  z
    .object({
      scale: z.literal('hyperscale'),
      url: z.string().min(1),
      /** The listener that serves the app (HTTPS with a certificate, else HTTP). */
      listenerArn: z.string().min(1),
      vpcId: z.string().min(1),
    })
    .strict(),
]);

export type FrontDoor = z.output<typeof frontDoorSchema>;
