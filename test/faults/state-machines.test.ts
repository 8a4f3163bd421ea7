/**
 * Fault injection and bad input on the three state machines, run locally with the REAL
 * handlers against the sandbox's emulated AWS account (seeded from `stackpilot.yml`):
 *
 * - every Task state of every ASL file gets a scenario per AWS call it makes: the call is
 *   throttled once (the execution must end exactly as without the fault) and on every
 *   attempt (the execution must fail with a readable Error and a Cause that names the step,
 *   after the compensation ran: no multipart upload left open, no service left on a broken
 *   revision, no container instance left DRAINING);
 * - every state machine input sample is mutated field by field and run: it must succeed or
 *   fail cleanly, never with `States.Runtime`;
 * - the closing line counts what was injected, what survived and what was lost (must be 0).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  type AslDefinition,
  allStates,
  type StateMachineName,
  WAIT_FOR_TASK_TOKEN,
} from '../../sandbox/state-machines.ts';
import { createRepo } from '../integration/support/git-repo.ts';
import { type GitServer, startGitServer } from '../integration/support/git-server.ts';
import { FaultInjector, type FaultPlan, type ServiceName } from './support/faults.ts';
import { triage } from './support/findings.ts';
import { Ledger } from './support/ledger.ts';
import { mutationsOf } from './support/mutations.ts';
import {
  APP,
  deployInvariants,
  ROUTES,
  type Route,
  STAGE,
  sample,
  snapshotBefore,
} from './support/routes.ts';
import { type Outcome, runExecution, unreadable } from './support/run.ts';
import { handlerExists, rawDefinition, STATE_MACHINES, type TaskState, taskStates } from './support/tasks.ts';
import { createWorld, exampleConfig } from './support/world.ts';

const injector = new FaultInjector();
const ledger = new Ledger();

// The deploy's Package Source clones over real git smart-HTTP: a repository on a loopback git server.
const gitRoot = mkdtempSync(join(tmpdir(), 'stackpilot-faults-git-'));
// 9 MiB under an image's extension: the zip stores it as is (two multipart parts, so an upload can
// fail half way) while git's own compression keeps the clone fast.
const large = Buffer.alloc(9 * 1024 * 1024, 'stackpilot fault-injection suite ');
const commit = await createRepo(join(gitRoot, 'starter'), {
  Dockerfile: 'FROM node:22-alpine\nCOPY . /app\nCMD ["node", "/app/server.js"]\n',
  'server.js': 'require("node:http").createServer((q, s) => s.end("ok")).listen(8080);\n',
  'assets/large.png': large,
});
const git: GitServer = await startGitServer(gitRoot);
const repositoryUrl = git.url('starter');

/**
 * The example configuration with the starter repository on the local git server. The dev
 * stage gets a second instance: on one t3.micro a rolling deployment (minimum healthy 100%)
 * has no room for the new 512 MiB task next to the old one and waits for a scale-out.
 */
const config = exampleConfig((c) => {
  const app = c.apps[APP];
  const stage = app?.stages[STAGE];
  if (!app || !stage) throw new Error(`stackpilot.yml has no ${APP}/${STAGE}`);
  app.repository.url = repositoryUrl;
  stage.instances.min = Math.max(stage.instances.min, 2);
});

const DEPLOY_ROUTE: Route = {
  name: 'deploy a pushed commit',
  machine: 'deploy',
  input: () => ({
    ...sample('deploy-input.json'),
    repository: { provider: 'github', url: repositoryUrl },
    ref: 'refs/heads/main',
    commit,
  }),
  invariants: deployInvariants,
};

/** CodePipeline keeps refusing the start: Start Pipeline fails, and Explain Failure says so. */
const FAILED_DEPLOY_ROUTE: Route = {
  ...DEPLOY_ROUTE,
  name: 'deploy a pushed commit whose pipeline cannot start',
  prefaults: [
    { service: 'codePipeline', command: 'StartPipelineExecution', mode: 'always', state: 'Start Pipeline' },
  ],
};

const routes: Route[] = [DEPLOY_ROUTE, FAILED_DEPLOY_ROUTE, ...ROUTES];

/** A route run: how the execution ended, the AWS calls each Task state made, what it left half done. */
interface RouteRun {
  readonly outcome: Outcome;
  readonly calls: Map<string, { service: ServiceName; command: string }[]>;
  readonly problems: string[];
  readonly fired: readonly number[];
}

/** Runs a route in a fresh world with these faults armed; checks the route's invariants afterwards. */
async function runRoute(route: Route, plans: FaultPlan[] = [], faulted?: string): Promise<RouteRun> {
  injector.reset();
  const routeConfig = structuredClone(config);
  route.configure?.(routeConfig);
  const world = await createWorld({ injector, config: routeConfig });
  try {
    await route.setup?.(world);
    const before = await snapshotBefore(world);
    const input = route.input(world);
    injector.arm(...(route.prefaults ?? []), ...plans);
    const outcome = await runExecution(world, route.machine, input, { injector, stepMs: route.stepMs });
    const calls = injector.commandsByState();
    const fired = injector.fired.slice(route.prefaults?.length ?? 0);
    injector.reset();
    const problems = outcome.lost ? [] : await route.invariants(world, before, outcome, faulted);
    return { outcome, calls, problems, fired };
  } finally {
    injector.reset();
    world.dispose();
  }
}

/** Which functions exist: a route through a missing one cannot run (the coverage test says so). */
const runnable = (route: Route) =>
  taskStates(route.machine).every((t) => t.folder !== undefined && handlerExists(t.folder));

// Fault-free runs of every route: which Task states each goes through and which AWS calls they make.
const baselines = new Map<Route, RouteRun>();
for (const route of routes) if (runnable(route)) baselines.set(route, await runRoute(route));

/** A Task state whose failure the ASL deliberately tolerates: its Catch-all goes where its success goes. */
function bestEffort(machine: StateMachineName, state: string): boolean {
  const asl = findState(rawDefinition(machine), state);
  const catchAll = (asl?.Catch ?? []).find((c: { ErrorEquals: string[] }) =>
    c.ErrorEquals.includes('States.ALL'),
  );
  if (catchAll === undefined) return false;
  // A task-token wait whose token cannot be stored falls back to polling (a Wait state, then the check).
  const fallback = findState(rawDefinition(machine), catchAll.Next);
  if (asl?.Resource === WAIT_FOR_TASK_TOKEN && fallback?.Type === 'Wait') return true;
  return catchAll.Next === asl?.Next;
}

/** A state of a definition by name, nested ones (Parallel branches, Map processors) included. */
function findState(definition: AslDefinition, name: string): AslDefinition | undefined {
  return allStates(definition)[name];
}

/** True when the Cause names the step or what it is for (a significant word of its name). */
function namesStep(cause: string, state: string): boolean {
  const text = cause.toLowerCase();
  if (text.includes(state.toLowerCase())) return true;
  const words = state
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w.length >= 4 && !['after', 'error', 'failed', 'failure', 'check'].includes(w));
  return words.some((w) => text.includes(w));
}

interface Scenario {
  readonly task: TaskState;
  readonly route: Route;
  readonly service: ServiceName | 'lambda';
  readonly command: string;
}

/**
 * For each Task state, one scenario per AWS call it makes on any route, each on the best
 * route that makes it: one whose fault-free run succeeds (so "always" must turn it into a
 * failure naming the step), else one without forcing faults, else the first.
 */
function scenariosOf(task: TaskState): Scenario[] {
  const rank = (route: Route) =>
    (baselines.get(route)?.outcome.result?.status === 'SUCCEEDED' ? 0 : 2) + (route.prefaults ? 1 : 0);
  const through = [...baselines]
    .filter(([route, run]) => route.machine === task.machine && run.outcome.invoked.includes(task.state))
    .sort(([a], [b]) => rank(a) - rank(b));
  const scenarios = new Map<string, Scenario>();
  for (const [route, run] of through)
    for (const call of run.calls.get(task.state) ?? []) {
      const key = `${call.service}:${call.command}`;
      if (!scenarios.has(key)) scenarios.set(key, { task, route, ...call });
    }
  const [first] = through;
  // A Task that calls no AWS API (pure logic) still runs in a Lambda function: its Invoke is throttled instead.
  if (scenarios.size === 0 && first) return [{ task, route: first[0], service: 'lambda', command: 'Invoke' }];
  return [...scenarios.values()];
}

const allTasks = STATE_MACHINES.flatMap((machine) => taskStates(machine));

/** Faults a complete run injects: two per scenario, one per input mutation (counted as the tests are defined). */
let planned = 0;

afterAll(() => {
  vi.useRealTimers();
  injector.detach();
  rmSync(gitRoot, { recursive: true, force: true });
  console.log([`${ledger.summary()} ${ledger.details()}`, ...ledger.findings(planned)].join('\n'));
  return git.close();
});

describe('coverage', () => {
  it.each(allTasks.map((t) => [`${t.machine}: ${t.state}`, t] as const))(
    '%s runs a real function and has fault scenarios',
    (_label, task) => {
      expect(
        task.folder,
        `no function for \${${task.placeholder}} in sandbox/runner.ts TASK_FUNCTIONS`,
      ).toBeDefined();
      expect(handlerExists(task.folder as string), `functions/${task.folder}/handler.ts`).toBe(true);
      const reached = [...baselines].filter(
        ([route, run]) => route.machine === task.machine && run.outcome.invoked.includes(task.state),
      );
      expect(reached.length, `no route goes through "${task.state}"`).toBeGreaterThan(0);
      expect(scenariosOf(task).length, `"${task.state}" has no fault scenario`).toBeGreaterThan(0);
    },
  );

  it('mutates every sample of events/samples/ that is a state machine input (the others are webhook bodies)', () => {
    const files = readdirSync(new URL('../../events/samples/', import.meta.url)).filter((f) =>
      f.endsWith('.json'),
    );
    const covered = new Set([...WEBHOOK_BODIES, ...UNROUTED_EVENTS, ...INPUT_SAMPLES.map((s) => s.sample)]);
    expect(files.filter((f) => !covered.has(f))).toEqual([]);
  });

  it.each(routes.map((r) => [r.name, r] as const))(
    'route "%s" runs without losing its execution',
    (_n, route) => {
      const run = baselines.get(route);
      expect(run, 'the route cannot run: a function is missing').toBeDefined();
      expect(run?.outcome.lost).toBeUndefined();
      expect(run?.problems, run?.problems.join('\n')).toEqual([]);
      if (run?.outcome.result?.status === 'FAILED')
        expect(unreadable(run.outcome.result.error, run.outcome.result.cause)).toEqual([]);
    },
  );
});

for (const machine of STATE_MACHINES) {
  describe(`${machine}: AWS calls throttled`, () => {
    for (const scenario of taskStates(machine).flatMap(scenariosOf)) {
      planned += 2;
      const { task, route, service, command } = scenario;
      const baseline = baselines.get(route) as RouteRun;
      const expected = baseline.outcome.result;
      const tolerated = bestEffort(machine, task.state);

      it(`${task.state}: ${command} throttled once -> ends as without the fault (${expected?.status}${expected?.error ? ` ${expected.error}` : ''})`, async () => {
        const run = await runRoute(
          route,
          [{ service, command, mode: 'once', state: task.state }],
          task.state,
        );
        const result = run.outcome.result;
        const problems = [...run.problems];
        if (run.outcome.lost) problems.push(`lost: ${run.outcome.lost}`);
        else if (result?.status !== expected?.status || result?.error !== expected?.error)
          problems.push(`ended ${result?.status} ${result?.error ?? ''}: ${result?.cause ?? ''}`);
        const label = `${machine} ${task.state} ${command} once`;
        const { known, unexpected } = triage(label, problems);
        ledger.record('throttled once', label, run.outcome, {
          injected: (run.fired[0] ?? 0) > 0,
          survived: problems.length === 0,
          known,
        });
        expect(run.fired[0], 'the fault never fired').toBe(1);
        expect(unexpected, unexpected.join('\n')).toEqual([]);
      });

      it(`${task.state}: ${command} throttled every time -> ${tolerated ? 'tolerated by design' : 'fails naming the step'}, compensation ran`, async () => {
        const run = await runRoute(
          route,
          [{ service, command, mode: 'always', state: task.state }],
          task.state,
        );
        const result = run.outcome.result;
        const problems = [...run.problems];
        if (run.outcome.lost) problems.push(`lost: ${run.outcome.lost}`);
        else if (tolerated) {
          if (result?.status !== expected?.status)
            problems.push(`ended ${result?.status}, not ${expected?.status}`);
        } else if (result?.status !== 'FAILED') problems.push(`ended ${result?.status}, not FAILED`);
        else if (service === 'lambda') {
          // The local runner reports every Task error as a function error (Cause: the Lambda error
          // document); the Lambda service's own refusal has a plain Cause on AWS, so only the Error is judged.
          if (!result.error || result.error.startsWith('States.')) problems.push(`Error is ${result.error}`);
        } else {
          problems.push(...unreadable(result.error, result.cause));
          if (expected?.status === 'SUCCEEDED' && !namesStep(result.cause ?? '', task.state))
            problems.push(`Cause does not name "${task.state}": ${result.cause}`);
        }
        const label = `${machine} ${task.state} ${command} always`;
        const { known, unexpected } = triage(label, problems);
        ledger.record('throttled always', label, run.outcome, {
          injected: (run.fired[0] ?? 0) > 0,
          survived: problems.length === 0,
          known,
        });
        expect(run.fired[0] ?? 0, 'the fault never fired').toBeGreaterThan(0);
        expect(unexpected, unexpected.join('\n')).toEqual([]);
      });
    }
  });
}

/** Samples that are webhook bodies: `webhook.test.ts` generates deliveries from them. */
const WEBHOOK_BODIES = [
  'github-push.json',
  'gitlab-push.json',
  'gitlab-tag-push.json',
  'github-pull-request-opened.json',
  'github-pull-request-synchronize.json',
  'github-pull-request-reopened.json',
  'github-pull-request-closed.json',
  'gitlab-merge-request.json',
];
/**
 * AWS events no rule starts a state machine with (the AWS conformance suite checks that): their
 * rules go to a function (the wait relay, commit status, release alert) or to a stage's alert topic.
 */
const UNROUTED_EVENTS = [
  'ecs-deployment-state-change.json',
  'codepipeline-execution-state-change.json',
  'step-functions-execution-running.json',
  'step-functions-execution-failed.json',
  'stackpilot-release-failed.json',
  'codebuild-build-failed.json',
  'ecs-task-stopped.json',
];

/** The samples that are state machine inputs, with what they are run through. */
const INPUT_SAMPLES: { machine: StateMachineName; sample: string; input: () => unknown }[] = [
  { machine: 'deploy', sample: 'deploy-input.json', input: () => DEPLOY_ROUTE.input(undefined as never) },
  { machine: 'release', sample: 'release-input.json', input: () => sample('release-input.json') },
  { machine: 'release', sample: 'release-redeploy.json', input: () => sample('release-redeploy.json') },
  { machine: 'release', sample: 'release-rollback.json', input: () => sample('release-rollback.json') },
  { machine: 'release', sample: 'release-promote.json', input: () => sample('release-promote.json') },
  {
    machine: 'scale',
    sample: 'cloudwatch-alarm-state-change.json',
    input: () => sample('cloudwatch-alarm-state-change.json'),
  },
  {
    machine: 'scale',
    sample: 'ecs-task-placement-failure.json',
    input: () => sample('ecs-task-placement-failure.json'),
  },
  { machine: 'scale', sample: 'scale-operator.json', input: () => sample('scale-operator.json') },
  { machine: 'preview', sample: 'preview-deploy.json', input: () => sample('preview-deploy.json') },
  { machine: 'preview', sample: 'preview-remove.json', input: () => sample('preview-remove.json') },
];

for (const { machine, sample: name, input } of INPUT_SAMPLES) {
  describe(`${machine}: ${name} mutated field by field`, () => {
    const mutations = mutationsOf(input());
    planned += mutations.length;
    it(`never loses an execution: ${mutations.length} mutations succeed or fail with a readable Error and Cause`, async () => {
      const route: Route = {
        name: `${name} mutated`,
        machine,
        input: () => undefined,
        invariants: async () => [],
      };
      expect(runnable(route), 'a function of this state machine is missing').toBe(true);
      const failures: string[] = [];
      // One world per sample: bad inputs mostly end early, and the rest only need a live stage.
      const world = await createWorld({ injector, config });
      try {
        for (const mutation of mutations) {
          const outcome = await runExecution(world, machine, mutation.document, { injector });
          const result = outcome.result;
          const problems: string[] = [];
          if (outcome.lost) problems.push(outcome.lost);
          else if (result?.status === 'FAILED') problems.push(...unreadable(result.error, result.cause));
          const label = `${name} ${mutation.path} ${mutation.kind}`;
          const { known, unexpected } = triage(label, problems);
          ledger.record('bad input', label, outcome, {
            injected: true,
            survived: problems.length === 0,
            known,
          });
          if (unexpected.length > 0)
            failures.push(
              `${mutation.path} (${mutation.kind}): ${unexpected.join('; ')} [${result?.error}: ${result?.cause?.slice(0, 300)}]`,
            );
        }
      } finally {
        world.dispose();
      }
      expect(failures, failures.join('\n')).toEqual([]);
    }, 240_000);
  });
}

describe('the compensation checks see what is left half done', () => {
  it('reports the multipart upload left open when the abort fails too', async () => {
    const run = await runRoute(DEPLOY_ROUTE, [
      { service: 's3', command: 'UploadPart', mode: 'always', state: 'Package Source' },
      { service: 's3', command: 'AbortMultipartUpload', mode: 'always', state: 'Package Source' },
    ]);
    expect(run.outcome.result?.status).toBe('FAILED');
    expect(run.fired.every((n) => n > 0)).toBe(true);
    expect(run.problems.some((p) => /^multipart upload .+ left open$/.test(p))).toBe(true);
  });
});

describe('summary', () => {
  it('lost no execution', () => {
    expect(ledger.injected).toBeGreaterThan(0);
    expect(ledger.lost).toEqual([]);
  });
});
