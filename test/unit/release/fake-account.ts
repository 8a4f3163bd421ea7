/**
 * A small ECS + S3 account for the release path tests, answering the mocked SDK clients
 * (aws-sdk-client-mock) like ECS does: UpdateService starts a PRIMARY deployment that
 * rolls over (virtual) time and completes, fails with or without the circuit breaker's
 * rollback, or never finishes; stopped tasks and service events tell why.
 */
import {
  type Deployment,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListTagsForResourceCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  type Tag,
  TagResourceCommand,
  type Task,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { ACCOUNT, starterRevision, starterTags, taskDefinitionArn } from './fixtures.ts';

/** What a new deployment does over time. */
export type Plan =
  | { readonly kind: 'complete'; readonly afterSeconds: number }
  | {
      readonly kind: 'circuit-breaker';
      readonly afterSeconds: number;
      readonly stoppedReason: string;
      readonly rollbackSeconds: number;
      readonly stopCode?: string;
    }
  | { readonly kind: 'fail'; readonly afterSeconds: number; readonly stoppedReason: string }
  /** A deployment alarm fires during the rollout or its bake: ECS fails it and rolls back, no task stopped. */
  | {
      readonly kind: 'alarm';
      readonly afterSeconds: number;
      readonly rolloutStateReason: string;
      readonly rollbackSeconds: number;
    }
  | { readonly kind: 'never' };

interface LiveDeployment extends Deployment {
  id: string;
  taskDefinition: string;
  plan: Plan;
  createdAt: Date;
}

export class ThrottlingException extends Error {
  override readonly name = 'ThrottlingException';
  readonly $metadata = { httpStatusCode: 400 };
}

export const CLUSTER = 'stackpilot-starter-dev';
export const SERVICE = 'stackpilot-starter-dev';
export const HISTORY_BUCKET = 'stackpilot-controlplane-sources';

export class FakeAccount {
  readonly ecs = mockClient(ECSClient);
  readonly s3 = mockClient(S3Client);
  /** Virtual time, milliseconds. */
  now = Date.parse('2026-11-21T12:00:00.000Z');
  readonly taskDefinitions = new Map<string, TaskDefinition>();
  readonly tags = new Map<string, Tag[]>();
  readonly objects = new Map<string, string>();
  deployments: LiveDeployment[] = [];
  events: { createdAt: Date; message: string; id: string }[] = [];
  readonly stopped = new Map<string, Task[]>();
  /** Plans of the next deployments, in order; then `defaultPlan`. */
  plans: Plan[] = [];
  defaultPlan: Plan = { kind: 'complete', afterSeconds: 90 };
  /** Command name -> how many more calls throw ThrottlingException. */
  readonly throttle = new Map<string, number>();
  /** Called before each command by name; throw from it to make the command fail. */
  before?: (command: string) => void;
  private sequence = 0;

  constructor(running: TaskDefinition = starterRevision(), tags: Tag[] = starterTags) {
    for (let revision = 9; revision < (running.revision ?? 1); revision++) {
      this.addRevision(starterRevision(revision, `${revision}`.repeat(40).slice(0, 40)), []);
    }
    this.addRevision(running, tags);
    this.deployments = [
      {
        id: 'ecs-svc/1000000000000000001',
        status: 'PRIMARY',
        taskDefinition: running.taskDefinitionArn as string,
        rolloutState: 'COMPLETED',
        rolloutStateReason: 'ECS deployment ecs-svc/1000000000000000001 completed.',
        desiredCount: 2,
        runningCount: 2,
        failedTasks: 0,
        createdAt: new Date(this.now - 86_400_000),
        plan: { kind: 'complete', afterSeconds: 0 },
      },
    ];
    this.wire();
  }

  addRevision(definition: TaskDefinition, tags: Tag[]): void {
    this.taskDefinitions.set(definition.taskDefinitionArn as string, definition);
    this.tags.set(definition.taskDefinitionArn as string, tags);
  }

  advance(seconds: number): void {
    this.now += seconds * 1000;
  }

  restore(): void {
    this.ecs.restore();
    this.s3.restore();
  }

  /** Records a history entry as an earlier release would have. */
  putHistory(key: string): void {
    this.objects.set(key, '{}');
  }

  calls(command: { name: string }): unknown[] {
    return this.ecs
      .calls()
      .filter((c) => c.args[0].constructor.name === command.name)
      .map((c) => c.args[0].input);
  }

  private throttled(name: string): void {
    this.before?.(name);
    const left = this.throttle.get(name) ?? 0;
    if (left > 0) {
      this.throttle.set(name, left - 1);
      throw new ThrottlingException('Rate exceeded');
    }
  }

  private event(message: string): void {
    this.events.unshift({ createdAt: new Date(this.now), message, id: `e${this.sequence++}` });
  }

  /** Moves every deployment along its plan up to `now`. */
  private tick(): void {
    for (const d of [...this.deployments]) {
      if (d.rolloutState !== 'IN_PROGRESS' || d.plan.kind === 'never') continue;
      const due = d.createdAt.getTime() + d.plan.afterSeconds * 1000;
      if (this.now < due) continue;
      const at = new Date(due);
      if (d.plan.kind === 'complete') {
        Object.assign(d, { rolloutState: 'COMPLETED', runningCount: d.desiredCount });
        // Once a deployment completes, ECS drains and drops the older ones.
        this.deployments = this.deployments.filter((o) => o === d || o.createdAt > d.createdAt);
        this.event(`(service ${SERVICE}) has reached a steady state.`);
        continue;
      }
      if (d.plan.kind === 'alarm') {
        Object.assign(d, {
          rolloutState: 'FAILED',
          rolloutStateReason: d.plan.rolloutStateReason,
          status: 'ACTIVE',
        });
        this.startRollback(
          d,
          at,
          d.plan.rollbackSeconds,
          `ECS deployment alarms: rolling back to deploymentId`,
        );
        continue;
      }
      const tasks = [0, 1, 2].map<Task>((i) => ({
        taskArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:task/${CLUSTER}/${d.id.slice(-6)}${i}`,
        startedBy: d.id,
        lastStatus: 'STOPPED',
        stoppedReason:
          d.plan.kind === 'fail' || d.plan.kind === 'circuit-breaker' ? d.plan.stoppedReason : '',
        ...(d.plan.kind === 'circuit-breaker' && d.plan.stopCode
          ? { stopCode: d.plan.stopCode as Task['stopCode'] }
          : {}),
        stoppedAt: new Date(due - (3 - i) * 1000),
        containers: [{ name: 'web', lastStatus: 'STOPPED', exitCode: 1 }],
      }));
      this.stopped.set(d.id, tasks);
      this.event(`(service ${SERVICE}) (deployment ${d.id}) deployment failed: tasks failed to start.`);
      if (d.plan.kind === 'fail') {
        Object.assign(d, {
          rolloutState: 'FAILED',
          rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
          failedTasks: 3,
        });
        continue;
      }
      Object.assign(d, {
        rolloutState: 'FAILED',
        rolloutStateReason: 'ECS deployment circuit breaker: tasks failed to start.',
        failedTasks: 3,
        status: 'ACTIVE',
      });
      this.startRollback(
        d,
        at,
        d.plan.rollbackSeconds,
        'ECS deployment circuit breaker: rolling back to deploymentId',
      );
    }
  }

  /** ECS's own rollback of failed deployment `d` to the last completed one. */
  private startRollback(d: LiveDeployment, at: Date, rollbackSeconds: number, reason: string): void {
    const good = this.deployments.find((o) => o !== d && o.rolloutState === 'COMPLETED');
    const rollback: LiveDeployment = {
      id: `ecs-svc/2${String(this.sequence++).padStart(18, '0')}`,
      status: 'PRIMARY',
      taskDefinition: good?.taskDefinition as string,
      rolloutState: 'IN_PROGRESS',
      rolloutStateReason: `${reason} ${good?.id}.`,
      desiredCount: 2,
      runningCount: 0,
      failedTasks: 0,
      createdAt: at,
      plan: { kind: 'complete', afterSeconds: rollbackSeconds },
    };
    this.deployments.unshift(rollback);
  }

  private service() {
    this.tick();
    return {
      serviceName: SERVICE,
      serviceArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:service/${CLUSTER}/${SERVICE}`,
      clusterArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/${CLUSTER}`,
      status: 'ACTIVE',
      taskDefinition: this.deployments.find((d) => d.status === 'PRIMARY')?.taskDefinition,
      deployments: this.deployments.map(({ plan: _plan, ...d }) => structuredClone(d)),
      events: structuredClone(this.events),
    };
  }

  private describe(reference: string): TaskDefinition | undefined {
    const byName = /^([A-Za-z0-9_-]+):(\d+)$/.exec(reference);
    const arn = byName ? taskDefinitionArn(byName[1] as string, Number(byName[2])) : reference;
    return this.taskDefinitions.get(arn);
  }

  private wire(): void {
    this.ecs.on(DescribeServicesCommand).callsFake((input) => {
      this.throttled('DescribeServices');
      if (input.cluster !== CLUSTER || input.services?.[0] !== SERVICE) {
        return { services: [], failures: [{ arn: input.services?.[0], reason: 'MISSING' }] };
      }
      return { services: [this.service()] };
    });
    this.ecs.on(DescribeTaskDefinitionCommand).callsFake((input) => {
      this.throttled('DescribeTaskDefinition');
      const found = this.describe(input.taskDefinition);
      if (!found)
        throw Object.assign(new Error('Unable to describe task definition.'), { name: 'ClientException' });
      return { taskDefinition: structuredClone(found) };
    });
    this.ecs.on(ListTagsForResourceCommand).callsFake((input) => ({
      tags: structuredClone(this.tags.get(input.resourceArn) ?? []),
    }));
    this.ecs.on(TagResourceCommand).callsFake((input) => {
      const tags = (this.tags.get(input.resourceArn) ?? []).filter(
        (t) => !input.tags.some((n: Tag) => n.key === t.key),
      );
      this.tags.set(input.resourceArn, [...tags, ...input.tags]);
      return {};
    });
    this.ecs.on(RegisterTaskDefinitionCommand).callsFake((input) => {
      this.throttled('RegisterTaskDefinition');
      const revisions = [...this.taskDefinitions.values()].filter((t) => t.family === input.family);
      const revision = Math.max(0, ...revisions.map((t) => t.revision ?? 0)) + 1;
      const { tags, ...rest } = input;
      const definition: TaskDefinition = {
        ...structuredClone(rest),
        taskDefinitionArn: taskDefinitionArn(input.family, revision),
        revision,
        status: 'ACTIVE',
        compatibilities: ['EC2'],
        registeredAt: new Date(this.now),
      };
      this.addRevision(definition, tags ?? []);
      return { taskDefinition: structuredClone(definition), tags };
    });
    this.ecs.on(UpdateServiceCommand).callsFake((input) => {
      this.throttled('UpdateService');
      this.tick();
      const arn = this.describe(input.taskDefinition)?.taskDefinitionArn;
      if (!arn) throw Object.assign(new Error('TaskDefinition not found.'), { name: 'ClientException' });
      for (const d of this.deployments) if (d.status === 'PRIMARY') d.status = 'ACTIVE';
      this.deployments.unshift({
        id: `ecs-svc/3${String(this.sequence++).padStart(18, '0')}`,
        status: 'PRIMARY',
        taskDefinition: arn,
        rolloutState: 'IN_PROGRESS',
        rolloutStateReason: 'ECS deployment in progress.',
        desiredCount: 2,
        runningCount: 0,
        failedTasks: 0,
        createdAt: new Date(this.now),
        plan: this.plans.shift() ?? this.defaultPlan,
      });
      return { service: this.service() };
    });
    this.ecs.on(ListTasksCommand).callsFake((input) => ({
      taskArns: (this.stopped.get(input.startedBy ?? '') ?? []).map((t) => t.taskArn),
    }));
    this.ecs.on(DescribeTasksCommand).callsFake((input) => ({
      tasks: [...this.stopped.values()].flat().filter((t) => input.tasks.includes(t.taskArn as string)),
    }));
    this.s3.on(PutObjectCommand).callsFake((input) => {
      this.throttled('PutObject');
      this.objects.set(input.Key, String(input.Body));
      return {};
    });
    this.s3.on(ListObjectsV2Command).callsFake((input) => ({
      Contents: [...this.objects.keys()]
        .filter((k) => k.startsWith(input.Prefix ?? ''))
        .sort()
        .map((Key) => ({ Key })),
      IsTruncated: false,
    }));
  }
}
