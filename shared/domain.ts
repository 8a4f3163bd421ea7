/**
 * Custom domains of a stage: where a certificate can serve. Both front doors are regional (an
 * HTTP API custom domain has no edge-optimized form; a load balancer listener takes only
 * certificates of its own region), so the certificate must be in the stage's region, never
 * `us-east-1` by habit (that is CloudFront's rule, not theirs).
 */

/** The region of an ACM certificate ARN (`arn:aws:acm:<region>:…`). */
export function certificateRegion(certificateArn: string): string {
  const region = certificateArn.split(':')[3];
  if (!region) throw new Error(`not an ACM certificate ARN: ${certificateArn}`);
  return region;
}

/**
 * Why the certificate cannot serve a stage's front door in `region`, or undefined when it can.
 * `field` names the configuration field for the message.
 */
export function certificateRegionProblem(
  certificateArn: string,
  region: string,
  scale: 'standard' | 'hyperscale',
  field: string,
): string | undefined {
  const found = certificateRegion(certificateArn);
  if (found === region) return undefined;
  const frontDoor =
    scale === 'standard'
      ? 'an API Gateway HTTP API custom domain (regional)'
      : 'an Application Load Balancer listener';
  return `${field}: the certificate is in ${found}, but the stage is deployed to ${region} and its front door, ${frontDoor}, only takes a certificate of its own region; request or import one in ${region}`;
}
