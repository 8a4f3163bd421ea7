/**
 * The placeholder a stage runs from `cdk deploy` until its first release, and the record of
 * what the stage released last. Both sides of the contract live here: the CDK app renders the
 * stage's task definition from them, the release replaces the placeholder and records its image.
 *
 * Who owns the running revision: the release. It writes the image it released into the stage's
 * SSM parameter (`stageNames(...).releasedImageParameter`); the stage stack resolves that
 * parameter at every deploy, so a `cdk deploy` that changes the task definition registers a
 * revision with the released image, never the placeholder again.
 */

/** Public image of the placeholder: BusyBox's httpd, from the ECR Public mirror of Docker's library. */
export const PLACEHOLDER_IMAGE = 'public.ecr.aws/docker/library/busybox:stable';

/**
 * Docker label on the placeholder container. The release drops it, with the placeholder's
 * `command` and `entryPoint`, when it puts the app's image into that container.
 */
export const PLACEHOLDER_LABEL = 'stackpilot.placeholder';

/**
 * Docker label on the placeholder carrying the app's own health check command (JSON) when it
 * is not the default HTTP check: the placeholder runs the default check (BusyBox cannot run the
 * app's), and the release puts the app's command back with the app's image.
 */
export const PLACEHOLDER_HEALTH_CHECK_LABEL = 'stackpilot.health-check-command';

/** Value of the released-image parameter before the first release (no image URI looks like it). */
export const NO_RELEASE = 'none';

/** Fields of a container definition that belong to the placeholder, not to the app's image. */
export const PLACEHOLDER_FIELDS = ['command', 'entryPoint'] as const;

/** A single-quoted shell word. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'"'"'`)}'`;
}

/**
 * The placeholder's command: BusyBox httpd on the container port, answering `/` and the
 * health check path with 200 so the first deployment (and the load balancer) see a healthy task.
 */
export function placeholderCommand(
  app: string,
  stage: string,
  port: number,
  healthCheckPath: string,
): string[] {
  const page = `stackpilot: ${app}/${stage} is ready; push to its branch to deploy your app.`;
  const lines = ['mkdir -p /www', `echo ${shellQuote(page)} > /www/index.html`];
  if (healthCheckPath !== '/') {
    const file = healthCheckPath.endsWith('/') ? `${healthCheckPath}index.html` : healthCheckPath;
    lines.push(
      `mkdir -p "$(dirname ${shellQuote(`/www${file}`)})"`,
      `echo ok > ${shellQuote(`/www${file}`)}`,
    );
  }
  lines.push(`exec httpd -f -p ${port} -h /www`);
  return ['sh', '-c', lines.join(' && ')];
}

/**
 * The value to record after a release that left `image` running: the image, or
 * {@link NO_RELEASE} when that is the placeholder again (a rollback to the first revision).
 */
export function releasedImageValue(image: string): string {
  return image === PLACEHOLDER_IMAGE ? NO_RELEASE : image;
}
