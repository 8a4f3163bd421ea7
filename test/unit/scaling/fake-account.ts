/**
 * An in-memory stand-in for the AWS resources the `scale` state machine touches, served
 * through aws-sdk-client-mock on the real SDK clients: one stage's ECS service and cluster,
 * its Auto Scaling group, its alarms, and an S3 bucket with conditional writes (the guard).
 * The real adapters and handlers run against it unchanged.
 */
import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient, DescribeAlarmsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  ECSClient,
  ListContainerInstancesCommand,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';

interface FakeInstance {
  ec2InstanceId: string;
  status: string;
  runningTasksCount: number;
  pendingTasksCount: number;
  protectedFromScaleIn: boolean;
}

/** An AWS SDK style error (what the SDK throws for an error response). */
export function awsError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $metadata: { httpStatusCode: status },
    $fault: status >= 500 ? 'server' : 'client',
  });
}

export interface FakeAccountOptions {
  readonly cluster: string;
  readonly serviceDesiredCount?: number;
  readonly groupMin?: number;
  readonly groupMax?: number;
  /** Running tasks per instance; the group's desired capacity is their number. */
  readonly instances?: readonly number[];
  /** Tasks that leave a DRAINING instance per DescribeContainerInstances call. */
  readonly drainRate?: number;
  /** How many tasks an instance has room for (each task reserves 256 CPU units and 512 MiB). */
  readonly slotsPerInstance?: number;
}

/** What one task reserves on its instance. */
export const TASK_SIZE = { cpu: 256, memory: 512 } as const;

export class FakeAccount {
  readonly ecs = mockClient(ECSClient);
  readonly autoScaling = mockClient(AutoScalingClient);
  readonly cloudWatch = mockClient(CloudWatchClient);
  readonly s3 = mockClient(S3Client);

  serviceDesiredCount: number;
  groupDesired: number;
  readonly groupMin: number;
  readonly groupMax: number;
  drainRate: number;
  readonly instances = new Map<string, FakeInstance>();
  /** Alarm name -> the states DescribeAlarms returns, one per call; the last one repeats. */
  readonly alarmStates = new Map<string, string[]>();
  readonly objects = new Map<string, { body: string; etag: string }>();
  /** Instances terminated while they still ran or expected a task (must stay empty). */
  readonly terminatedWithTasks: string[] = [];
  /** Every SetAlarmState received, in order. */
  readonly alarmsSet: { alarmName: string; state: string; reason: string }[] = [];
  /** Every command received, in order, by name. */
  readonly calls: string[] = [];
  /** Errors to throw for the next calls of a command, by command name. */
  readonly failNext = new Map<string, Error[]>();
  /** Called with each command's name before it is answered (a test can move the clock there). */
  onCommand: (name: string) => void = () => undefined;
  private nextInstance = 1;
  private nextEtag = 1;

  constructor(readonly options: FakeAccountOptions) {
    this.serviceDesiredCount = options.serviceDesiredCount ?? 1;
    this.groupMin = options.groupMin ?? 0;
    this.groupMax = options.groupMax ?? 50;
    this.drainRate = options.drainRate ?? 1;
    for (const tasks of options.instances ?? [0]) this.addInstance(tasks);
    this.groupDesired = this.instances.size;
    this.install();
  }

  get cluster(): string {
    return this.options.cluster;
  }

  arnOf(ec2InstanceId: string): string {
    return `arn:aws:ecs:${REGION}:${ACCOUNT}:container-instance/${this.cluster}/${ec2InstanceId.slice(2)}`;
  }

  addInstance(tasks: number): string {
    const id = `i-${String(this.nextInstance++).padStart(17, '0')}`;
    this.instances.set(this.arnOf(id), {
      ec2InstanceId: id,
      status: 'ACTIVE',
      runningTasksCount: tasks,
      pendingTasksCount: 0,
      // The group protects its instances from scale-in: only the scale state machine removes them.
      protectedFromScaleIn: true,
    });
    return id;
  }

  instanceById(ec2InstanceId: string): FakeInstance | undefined {
    return [...this.instances.values()].find((i) => i.ec2InstanceId === ec2InstanceId);
  }

  private record(name: string): void {
    this.onCommand(name);
    this.calls.push(name);
    const error = this.failNext.get(name)?.shift();
    if (error) throw error;
  }

  count(name: string): number {
    return this.calls.filter((c) => c === name).length;
  }

  private install(): void {
    this.ecs.on(DescribeServicesCommand).callsFake((input) => {
      this.record('DescribeServices');
      const name = input.services?.[0];
      return name === this.cluster
        ? {
            services: [
              {
                serviceName: name,
                status: 'ACTIVE',
                desiredCount: this.serviceDesiredCount,
                runningCount: this.serviceDesiredCount,
                pendingCount: 0,
              },
            ],
          }
        : { services: [], failures: [{ arn: name, reason: 'MISSING' }] };
    });
    this.ecs.on(UpdateServiceCommand).callsFake((input) => {
      this.record('UpdateService');
      this.serviceDesiredCount = input.desiredCount ?? this.serviceDesiredCount;
      return { service: { serviceName: input.service, desiredCount: this.serviceDesiredCount } };
    });
    this.ecs.on(ListContainerInstancesCommand).callsFake(() => {
      this.record('ListContainerInstances');
      return { containerInstanceArns: [...this.instances.keys()] };
    });
    this.ecs.on(DescribeContainerInstancesCommand).callsFake((input) => {
      this.record('DescribeContainerInstances');
      const found = (input.containerInstances ?? []).flatMap((arn: string) => {
        const instance = this.instances.get(arn);
        if (!instance) return [];
        // ECS moves service tasks off a DRAINING instance over time.
        if (instance.status === 'DRAINING')
          instance.runningTasksCount = Math.max(0, instance.runningTasksCount - this.drainRate);
        const slots = this.options.slotsPerInstance ?? 10;
        const used = instance.runningTasksCount + instance.pendingTasksCount;
        const resources = (n: number) => [
          { name: 'CPU', type: 'INTEGER', integerValue: n * TASK_SIZE.cpu },
          { name: 'MEMORY', type: 'INTEGER', integerValue: n * TASK_SIZE.memory },
        ];
        return [
          {
            containerInstanceArn: arn,
            ...instance,
            registeredResources: resources(slots),
            remainingResources: resources(slots - used),
          },
        ];
      });
      return { containerInstances: found, failures: [] };
    });
    this.ecs.on(UpdateContainerInstancesStateCommand).callsFake((input) => {
      this.record('UpdateContainerInstancesState');
      for (const arn of input.containerInstances ?? []) {
        const instance = this.instances.get(arn);
        if (instance) instance.status = input.status ?? instance.status;
      }
      return { containerInstances: [], failures: [] };
    });
    this.autoScaling.on(DescribeAutoScalingGroupsCommand).callsFake((input) => {
      this.record('DescribeAutoScalingGroups');
      const name = input.AutoScalingGroupNames?.[0];
      if (name !== this.cluster) return { AutoScalingGroups: [] };
      return {
        AutoScalingGroups: [
          {
            AutoScalingGroupName: name,
            DesiredCapacity: this.groupDesired,
            MinSize: this.groupMin,
            MaxSize: this.groupMax,
            Instances: [...this.instances.values()].map((i) => ({
              InstanceId: i.ec2InstanceId,
              LifecycleState: 'InService',
              ProtectedFromScaleIn: i.protectedFromScaleIn,
            })),
          },
        ],
      };
    });
    this.autoScaling.on(SetDesiredCapacityCommand).callsFake((input) => {
      this.record('SetDesiredCapacity');
      const desired = input.DesiredCapacity ?? this.groupDesired;
      // The group launches instances, which register with the cluster with no task.
      while (this.instances.size < desired) this.addInstance(0);
      this.groupDesired = desired;
      return {};
    });
    this.autoScaling.on(SetInstanceProtectionCommand).callsFake((input) => {
      this.record('SetInstanceProtection');
      for (const id of input.InstanceIds ?? []) {
        const instance = this.instanceById(id);
        if (instance) instance.protectedFromScaleIn = input.ProtectedFromScaleIn ?? false;
      }
      return {};
    });
    this.autoScaling.on(TerminateInstanceInAutoScalingGroupCommand).callsFake((input) => {
      this.record('TerminateInstanceInAutoScalingGroup');
      const id = input.InstanceId ?? '';
      const instance = this.instanceById(id);
      if (!instance)
        throw awsError(
          'ValidationError',
          400,
          `Instance Id not found - No managed instance found for instance ID: ${id}`,
        );
      if (this.groupDesired - 1 < this.groupMin)
        throw awsError('ValidationError', 400, 'Currently, desiredSize equals minSize');
      if (instance.runningTasksCount + instance.pendingTasksCount > 0) this.terminatedWithTasks.push(id);
      this.instances.delete(this.arnOf(id));
      if (input.ShouldDecrementDesiredCapacity) this.groupDesired -= 1;
      return {
        Activity: {
          ActivityId: 'a-1',
          AutoScalingGroupName: this.cluster,
          Cause: 'terminate',
          StartTime: new Date(),
          StatusCode: 'InProgress',
        },
      };
    });
    this.cloudWatch.on(DescribeAlarmsCommand).callsFake((input) => {
      this.record('DescribeAlarms');
      const alarms = (input.AlarmNames ?? []).flatMap((name: string) => {
        const states = this.alarmStates.get(name);
        if (!states) return [];
        const state = states.length > 1 ? (states.shift() as string) : (states[0] as string);
        return [{ AlarmName: name, StateValue: state }];
      });
      return { MetricAlarms: alarms, CompositeAlarms: [] };
    });
    this.cloudWatch.on(SetAlarmStateCommand).callsFake((input) => {
      this.record('SetAlarmState');
      const name = input.AlarmName ?? '';
      if (!this.alarmStates.has(name))
        throw awsError('ResourceNotFound', 404, `Alarm ${name} does not exist.`);
      this.alarmStates.set(name, [input.StateValue ?? 'OK']);
      this.alarmsSet.push({
        alarmName: name,
        state: input.StateValue ?? '',
        reason: input.StateReason ?? '',
      });
      return {};
    });
    this.s3.on(PutObjectCommand).callsFake((input) => {
      this.record('PutObject');
      const key = input.Key ?? '';
      const existing = this.objects.get(key);
      if (input.IfNoneMatch === '*' && existing) throw awsError('PreconditionFailed', 412);
      if (input.IfMatch !== undefined && existing?.etag !== input.IfMatch)
        throw awsError('PreconditionFailed', 412);
      const etag = `"${this.nextEtag++}"`;
      this.objects.set(key, { body: String(input.Body), etag });
      return { ETag: etag };
    });
    this.s3.on(GetObjectCommand).callsFake((input) => {
      this.record('GetObject');
      const object = this.objects.get(input.Key ?? '');
      if (!object) throw awsError('NoSuchKey', 404);
      return {
        ETag: object.etag,
        Body: { transformToString: async () => object.body },
      } as unknown as GetObjectCommandOutput;
    });
    this.s3.on(DeleteObjectCommand).callsFake((input) => {
      this.record('DeleteObject');
      this.objects.delete(input.Key ?? '');
      return {};
    });
  }

  /** Undoes the mocks (call in afterEach). */
  restore(): void {
    this.ecs.restore();
    this.autoScaling.restore();
    this.cloudWatch.restore();
    this.s3.restore();
  }
}
