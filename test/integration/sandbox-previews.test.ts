/**
 * A preview per pull request, the whole loop in the sandbox (docs/previews.md): a branch pushed
 * with the real git client, `stackpilot pr open` (GitHub's signed `pull_request` event to the
 * real webhook), the `deploy` state machine into the preview pipeline, the `preview` state
 * machine making the service and its route from the stage's template-made front door; the
 * preview serves the branch at `<stage URL>/pr-<n>/` while the stage serves its own release;
 * `pr update` rolls it to the new head; `pr close` removes it, and nothing is left behind:
 * no service, no task-definition revision, no Cloud Map service, no API route or integration,
 * no record.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { prCommand } from '../../sandbox/commands/pr.ts';
import { statusCommand } from '../../sandbox/commands/status.ts';
import { type Sandbox, startSandbox } from '../../sandbox/server.ts';
import { ecrRepositoryName, previewNames, previewRepositoryName, stageNames } from '../../shared/naming.ts';
import { captureIo, sh } from '../support/process.ts';

const TIME_SCALE = 60;

describe('a preview per pull request in the sandbox', () => {
  let dir: string;
  let work: string;
  let sandbox: Sandbox;
  const names = previewNames('starter', 'dev', 1);

  const get = async (path: string): Promise<{ status: number; message?: string }> => {
    const response = await fetch(`${sandbox.stageUrls['starter/dev']}${path}`);
    const text = await response.text();
    try {
      return { status: response.status, message: (JSON.parse(text) as { message?: string }).message };
    } catch {
      return { status: response.status, message: text.slice(0, 200) };
    }
  };
  const greet = async (greeting: string, message: string) => {
    const server = join(work, 'server.js');
    const text = readFileSync(server, 'utf8').replace(
      /const GREETING = '[^']*';/,
      `const GREETING = '${greeting}';`,
    );
    writeFileSync(server, text);
    expect((await sh('git', ['commit', '--quiet', '-am', message], work)).code).toBe(0);
    expect((await sh('git', ['push', '--quiet', 'origin', 'feature'], work)).code).toBe(0);
    return (await sh('git', ['rev-parse', 'HEAD'], work)).stdout.trim();
  };
  const pr = async (...args: string[]) => {
    const run = captureIo();
    const code = await prCommand([...args, '--url', sandbox.url, '--timeout', '240'], run.io, {
      pollMs: 200,
    });
    return { code, out: run.out(), err: run.err() };
  };
  const ecs = () => sandbox.account.ecs.commands;
  const revisions = (status: 'ACTIVE' | 'INACTIVE') =>
    (ecs().ListTaskDefinitions({ familyPrefix: names.taskFamily, status }).taskDefinitionArns ?? []).filter(
      (a) => a.includes(`/${names.taskFamily}:`),
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sandbox-previews-'));
    const config = parse(readFileSync('stackpilot.yml', 'utf8'));
    config.apps.starter.previews = { stage: 'dev', max: 2 };
    const configPath = join(dir, 'stackpilot.yml');
    writeFileSync(configPath, stringify(config));
    delete process.env.STACKPILOT_WEBHOOK_SECRET;
    sandbox = await startSandbox({
      dataDir: join(dir, 'data'),
      configPath,
      port: 0,
      timeScale: TIME_SCALE,
      log: () => undefined,
    });
    work = join(dir, 'starter');
    expect((await sh('git', ['clone', '--quiet', `${sandbox.url}/git/starter.git`, work], dir)).code).toBe(0);
    expect((await sh('git', ['checkout', '--quiet', '-b', 'feature'], work)).code).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await sandbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('opens: the preview serves the branch under /pr-1/, the stage keeps serving its own', async () => {
    const commit = await greet('Hello from the pull request', 'Greet from the branch');
    const opened = await pr('open', 'starter', '--branch', 'feature');
    expect(opened.err).toContain('webhook 202');
    expect(opened.code, opened.err).toBe(0);
    expect(opened.out).toContain(`preview of pull request #1: ${sandbox.stageUrls['starter/dev']}/pr-1/`);

    expect(await get('/pr-1/')).toEqual({ status: 200, message: 'Hello from the pull request' });
    // The prefix is stripped: the app's own /health answers under the preview's prefix.
    expect((await get('/pr-1/health')).status).toBe(200);
    // The stage's URL still serves the stage's release (here, the placeholder), never the preview.
    expect((await get('/')).message).not.toBe('Hello from the pull request');

    const service = ecs().DescribeServices({ cluster: names.cluster, services: [names.service] })
      .services?.[0];
    expect(service).toMatchObject({ status: 'ACTIVE', desiredCount: 1 });
    expect(revisions('ACTIVE')).toHaveLength(1);
    const container = ecs()
      .DescribeTaskDefinition({ taskDefinition: revisions('ACTIVE')[0] })
      .taskDefinition?.containerDefinitions?.find((c) => c.name === 'app');
    expect(container?.environment).toEqual(
      expect.arrayContaining([
        { name: 'STACKPILOT_BASE_PATH', value: '/pr-1' },
        { name: 'STACKPILOT_PREVIEW', value: '1' },
      ]),
    );
    // Built into the app's preview repository, as the preview pipeline's build action says:
    // the app's repository (imagesToKeep, the releases a rollback needs) never sees it.
    expect(container?.image).toMatch(new RegExp(`/${previewRepositoryName('starter')}:${commit}$`));
    const appTags = (
      sandbox.account.ecr.commands.DescribeImages({ repositoryName: ecrRepositoryName('starter') })
        .imageDetails ?? []
    ).flatMap((i) => i.imageTags ?? []);
    expect(appTags).not.toContain(commit);

    const status = captureIo();
    expect(await statusCommand(['--url', sandbox.url], status.io)).toBe(0);
    expect(status.out()).toMatch(/PREVIEWS[\s\S]*starter\/dev +#1 +feature +[0-9a-f]{7} +serving/);
  }, 300_000);

  it('updates: a push to the branch and "synchronize" roll the preview to the new head', async () => {
    const commit = await greet('Hello again from the pull request', 'Greet again');
    const updated = await pr('update', 'starter', '--branch', 'feature');
    expect(updated.code, updated.err).toBe(0);
    expect(await get('/pr-1/')).toEqual({ status: 200, message: 'Hello again from the pull request' });
    const service = ecs().DescribeServices({ cluster: names.cluster, services: [names.service] })
      .services?.[0];
    expect(service?.taskDefinition).toMatch(new RegExp(`/${names.taskFamily}:2$`));
    const { stages } = (await (await fetch(`${sandbox.url}/stages`)).json()) as {
      stages: {
        app: string;
        stage: string;
        previews: { number: number; commit: string; createdAt: string; updatedAt: string }[];
      }[];
    };
    const [record] = stages.find((s) => s.app === 'starter' && s.stage === 'dev')?.previews ?? [];
    expect(record).toMatchObject({ number: 1, commit });
    expect(Date.parse(record?.updatedAt ?? '')).toBeGreaterThan(Date.parse(record?.createdAt ?? ''));
  }, 300_000);

  it('closes: the service, its revisions, its route and its record are gone, and /pr-1/ is the stage again', async () => {
    const closed = await pr('close', 'starter', '--branch', 'feature', '--merged');
    expect(closed.code, closed.err).toBe(0);

    const service = ecs().DescribeServices({ cluster: names.cluster, services: [names.service] })
      .services?.[0];
    expect(service?.status ?? 'MISSING').not.toBe('ACTIVE');
    expect(service?.status ?? 'INACTIVE').toBe('INACTIVE');
    expect(revisions('ACTIVE')).toEqual([]);
    expect(revisions('INACTIVE')).toEqual([]);

    const door = sandbox.account.ssm.commands.GetParameter({ Name: '/stackpilot/starter/dev/front-door' });
    const { apiId, namespaceId } = JSON.parse(door.Parameter?.Value ?? '{}') as {
      apiId: string;
      namespaceId: string;
    };
    const routes = sandbox.account.apiGatewayV2.commands.GetRoutes({ ApiId: apiId }).Items ?? [];
    expect(routes.map((r) => r.RouteKey)).toEqual(['$default']);
    const integrations = sandbox.account.apiGatewayV2.commands.GetIntegrations({ ApiId: apiId }).Items ?? [];
    expect(integrations).toHaveLength(1);
    const discovery = sandbox.account.serviceDiscovery.commands.ListServices({
      Filters: [{ Name: 'NAMESPACE_ID', Values: [namespaceId], Condition: 'EQ' }],
    });
    expect(discovery.Services?.map((s) => s.Name)).toEqual(['app']);

    const records = sandbox.account.s3.commands.ListObjectsV2({
      Bucket: sandbox.account.sourceBucket,
      Prefix: 'previews/',
    });
    expect(records.Contents ?? []).toEqual([]);
    expect((await get('/pr-1/')).message).not.toBe('Hello again from the pull request');
    expect(stageNames('starter', 'dev').service).not.toBe(names.service);
  }, 300_000);
});
