/**
 * Emulated EC2 Auto Scaling: one group per stage whose instances launch and terminate over
 * emulated time and join or leave the stage's ECS cluster as container instances.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  type Activity,
  type AutoScalingGroup,
  AutoScalingServiceException,
  type DescribeAutoScalingGroupsCommandInput,
  type DescribeAutoScalingGroupsCommandOutput,
  type DescribeAutoScalingInstancesCommandInput,
  type DescribeAutoScalingInstancesCommandOutput,
  type DescribeScalingActivitiesCommandInput,
  type DescribeScalingActivitiesCommandOutput,
  type SetDesiredCapacityCommandInput,
  type SetDesiredCapacityCommandOutput,
  type SetInstanceProtectionCommandInput,
  type SetInstanceProtectionCommandOutput,
  type TerminateInstanceInAutoScalingGroupCommandInput,
  type TerminateInstanceInAutoScalingGroupCommandOutput,
  type UpdateAutoScalingGroupCommandInput,
  type UpdateAutoScalingGroupCommandOutput,
} from '@aws-sdk/client-auto-scaling';
import { namedError } from './errors.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

/** From launch to InService and registered with ECS (boot, ECS agent start). */
export const INSTANCE_LAUNCH_MS = 45_000;
/** From the termination request to the instance being gone. */
export const INSTANCE_TERMINATE_MS = 15_000;

interface InstanceRecord {
  id: string;
  availabilityZone: string;
  state: 'Pending' | 'InService' | 'Terminating';
  launchedAt: number;
  readyAt: number;
  terminateAt?: number;
  protectedFromScaleIn: boolean;
}

interface GroupRecord {
  name: string;
  clusterName: string;
  instanceType: string;
  min: number;
  max: number;
  desired: number;
  createdAt: number;
  newInstancesProtected: boolean;
  instances: InstanceRecord[];
  activities: {
    id: string;
    description: string;
    cause: string;
    start: number;
    end?: number;
    status: 'InProgress' | 'Successful';
  }[];
}

interface AutoScalingState {
  groups: Record<string, GroupRecord>;
}

/** What a group needs from ECS: its instances join and leave the cluster. */
export interface ClusterMembership {
  registerInstance(
    clusterName: string,
    ec2InstanceId: string,
    instanceType: string,
    availabilityZone: string,
  ): string;
  deregisterInstance(ec2InstanceId: string): void;
}

const validation = (message: string) => namedError(AutoScalingServiceException, 'ValidationError', message);

export class AutoScalingEmulator implements Emulator {
  readonly service = 'AutoScaling';
  private readonly file: JsonFile<AutoScalingState>;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
    private readonly ecs: ClusterMembership,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'auto-scaling.json'), () => ({ groups: {} }));
  }

  save(): void {
    this.file.save();
  }

  /**
   * Creates a group whose `desired` instances are already InService and registered in the
   * cluster (what the CDK deployment leaves behind). Does nothing when it exists.
   */
  ensureGroup(spec: {
    name: string;
    clusterName: string;
    instanceType: string;
    min: number;
    max: number;
    newInstancesProtected?: boolean;
  }): void {
    if (this.file.value.groups[spec.name]) return;
    const t = this.ctx.clock.now();
    const group: GroupRecord = {
      ...spec,
      desired: spec.min,
      createdAt: t,
      newInstancesProtected: spec.newInstancesProtected ?? false,
      instances: [],
      activities: [],
    };
    this.file.value.groups[spec.name] = group;
    for (let i = 0; i < spec.min; i += 1) {
      const instance = this.launch(group, t, 'the group was created');
      instance.state = 'InService';
      instance.readyAt = t;
      this.ecs.registerInstance(
        group.clusterName,
        instance.id,
        group.instanceType,
        instance.availabilityZone,
      );
    }
  }

  /** A group as `GET /stages` shows it. */
  view(name: string) {
    const group = this.file.value.groups[name];
    if (!group) return undefined;
    return {
      min: group.min,
      max: group.max,
      desired: group.desired,
      instances: group.instances.map((i) => ({
        id: i.id,
        lifecycleState: i.state,
        protectedFromScaleIn: i.protectedFromScaleIn,
      })),
    };
  }

  step(t: number): void {
    for (const group of Object.values(this.file.value.groups)) {
      for (const instance of [...group.instances]) {
        if (instance.state === 'Pending' && instance.readyAt <= t) {
          instance.state = 'InService';
          this.ecs.registerInstance(
            group.clusterName,
            instance.id,
            group.instanceType,
            instance.availabilityZone,
          );
          this.finishActivity(group, instance.id, t);
        } else if (instance.state === 'Terminating' && (instance.terminateAt ?? t) <= t) {
          this.ecs.deregisterInstance(instance.id);
          group.instances = group.instances.filter((i) => i !== instance);
          this.finishActivity(group, instance.id, t);
        }
      }
      this.reconcile(group, t);
    }
  }

  readonly commands = {
    DescribeAutoScalingGroups: (
      input: DescribeAutoScalingGroupsCommandInput,
    ): Result<DescribeAutoScalingGroupsCommandOutput> => {
      const names = input.AutoScalingGroupNames;
      const groups = Object.values(this.file.value.groups).filter(
        (g) => !names || names.length === 0 || names.includes(g.name),
      );
      return { AutoScalingGroups: groups.map((g) => this.groupOutput(g)) };
    },
    DescribeAutoScalingInstances: (
      input: DescribeAutoScalingInstancesCommandInput,
    ): Result<DescribeAutoScalingInstancesCommandOutput> => {
      const wanted = input.InstanceIds;
      return {
        AutoScalingInstances: Object.values(this.file.value.groups).flatMap((g) =>
          g.instances
            .filter((i) => !wanted || wanted.length === 0 || wanted.includes(i.id))
            .map((i) => ({
              InstanceId: i.id,
              AutoScalingGroupName: g.name,
              AvailabilityZone: i.availabilityZone,
              LifecycleState: i.state,
              HealthStatus: 'HEALTHY',
              ProtectedFromScaleIn: i.protectedFromScaleIn,
              InstanceType: g.instanceType,
            })),
        ),
      };
    },
    DescribeScalingActivities: (
      input: DescribeScalingActivitiesCommandInput,
    ): Result<DescribeScalingActivitiesCommandOutput> => {
      const groups = Object.values(this.file.value.groups).filter(
        (g) => !input.AutoScalingGroupName || g.name === input.AutoScalingGroupName,
      );
      const activities = groups
        .flatMap((g) => g.activities.map((a) => this.activityOutput(g, a)))
        .sort((a, b) => (b.StartTime?.getTime() ?? 0) - (a.StartTime?.getTime() ?? 0));
      return { Activities: activities.slice(0, input.MaxRecords ?? 100) };
    },
    SetDesiredCapacity: (input: SetDesiredCapacityCommandInput): Result<SetDesiredCapacityCommandOutput> => {
      const group = this.group(input.AutoScalingGroupName);
      const desired = input.DesiredCapacity ?? group.desired;
      if (desired > group.max) {
        throw validation(
          `New SetDesiredCapacity value ${desired} is above max value ${group.max} for the AutoScalingGroup.`,
        );
      }
      if (desired < group.min) {
        throw validation(
          `New SetDesiredCapacity value ${desired} is below min value ${group.min} for the AutoScalingGroup.`,
        );
      }
      group.desired = desired;
      this.reconcile(group, this.ctx.clock.now());
      return {};
    },
    UpdateAutoScalingGroup: (
      input: UpdateAutoScalingGroupCommandInput,
    ): Result<UpdateAutoScalingGroupCommandOutput> => {
      const group = this.group(input.AutoScalingGroupName);
      const min = input.MinSize ?? group.min;
      const max = input.MaxSize ?? group.max;
      if (min > max)
        throw validation(`Max bound, ${max}, must be greater than or equal to min bound, ${min}`);
      const desired = input.DesiredCapacity ?? Math.min(max, Math.max(min, group.desired));
      if (desired < min || desired > max) {
        throw validation(
          `Desired capacity:${desired} must be between the specified min size:${min} and max size:${max}`,
        );
      }
      Object.assign(group, { min, max, desired });
      if (input.NewInstancesProtectedFromScaleIn !== undefined)
        group.newInstancesProtected = input.NewInstancesProtectedFromScaleIn;
      this.reconcile(group, this.ctx.clock.now());
      return {};
    },
    SetInstanceProtection: (
      input: SetInstanceProtectionCommandInput,
    ): Result<SetInstanceProtectionCommandOutput> => {
      const group = this.group(input.AutoScalingGroupName);
      for (const id of input.InstanceIds ?? []) {
        const instance = group.instances.find((i) => i.id === id);
        if (!instance)
          throw validation(`The instance ${id} is not part of Auto Scaling group ${group.name}.`);
        instance.protectedFromScaleIn = input.ProtectedFromScaleIn ?? false;
      }
      return {};
    },
    TerminateInstanceInAutoScalingGroup: (
      input: TerminateInstanceInAutoScalingGroupCommandInput,
    ): Result<TerminateInstanceInAutoScalingGroupCommandOutput> => {
      const id = input.InstanceId ?? '';
      const group = Object.values(this.file.value.groups).find((g) => g.instances.some((i) => i.id === id));
      const instance = group?.instances.find((i) => i.id === id);
      if (!group || !instance)
        throw validation(`Instance Id not found - No managed instance found for instance ID: ${id}`);
      const t = this.ctx.clock.now();
      if (input.ShouldDecrementDesiredCapacity) {
        if (group.desired - 1 < group.min) {
          throw validation(
            `Currently, desiredSize equals minSize (${group.min}). Terminating instance without replacement will violate group's min size constraint. Either set shouldDecrementDesiredCapacity flag to false or lower group's min size.`,
          );
        }
        group.desired -= 1;
      }
      const cause = input.ShouldDecrementDesiredCapacity
        ? `At ${new Date(t).toISOString()} instance ${id} was taken out of service in response to a user request, shrinking the capacity from ${group.desired + 1} to ${group.desired}.`
        : `At ${new Date(t).toISOString()} instance ${id} was taken out of service in response to a user request.`;
      const activity = this.terminate(group, instance, t, cause);
      this.reconcile(group, t);
      return { Activity: this.activityOutput(group, activity) };
    },
  };

  private group(name: string | undefined): GroupRecord {
    const group = this.file.value.groups[name ?? ''];
    if (!group) throw validation(`AutoScalingGroup name not found - AutoScalingGroup ${name} not found`);
    return group;
  }

  /** Launches or terminates instances until the group has its desired capacity. */
  private reconcile(group: GroupRecord, t: number): void {
    const live = group.instances.filter((i) => i.state !== 'Terminating');
    for (let n = live.length; n < group.desired; n += 1) {
      this.launch(
        group,
        t,
        `an instance was started in response to a difference between desired and actual capacity, increasing the capacity from ${n} to ${n + 1}`,
      );
    }
    const surplus = live.length - group.desired;
    if (surplus <= 0) return;
    // Newest unprotected first; instances protected from scale-in are never chosen.
    const candidates = live
      .filter((i) => !i.protectedFromScaleIn)
      .sort((a, b) => b.launchedAt - a.launchedAt);
    for (const instance of candidates.slice(0, surplus)) {
      this.terminate(
        group,
        instance,
        t,
        `an instance was taken out of service in response to a difference between desired and actual capacity, shrinking the capacity to ${group.desired}`,
      );
    }
  }

  private launch(group: GroupRecord, t: number, cause: string): InstanceRecord {
    const zones = ['a', 'b', 'c'].map((z) => `${this.ctx.region}${z}`);
    const zoneCounts = zones.map((z) => group.instances.filter((i) => i.availabilityZone === z).length);
    const zone = zones[zoneCounts.indexOf(Math.min(...zoneCounts))] ?? `${this.ctx.region}a`;
    const instance: InstanceRecord = {
      id: `i-${randomBytes(9).toString('hex').slice(0, 17)}`,
      availabilityZone: zone,
      state: 'Pending',
      launchedAt: t,
      readyAt: t + INSTANCE_LAUNCH_MS,
      protectedFromScaleIn: group.newInstancesProtected,
    };
    group.instances.push(instance);
    this.activity(
      group,
      `Launching a new EC2 instance: ${instance.id}`,
      `At ${new Date(t).toISOString()} ${cause}.`,
      t,
    );
    return instance;
  }

  private terminate(group: GroupRecord, instance: InstanceRecord, t: number, cause: string) {
    instance.state = 'Terminating';
    instance.terminateAt = t + INSTANCE_TERMINATE_MS;
    return this.activity(group, `Terminating EC2 instance: ${instance.id}`, cause, t);
  }

  private activity(group: GroupRecord, description: string, cause: string, t: number) {
    const activity = {
      id: randomBytes(16).toString('hex'),
      description,
      cause,
      start: t,
      status: 'InProgress' as const,
    };
    group.activities.unshift(activity);
    group.activities.length = Math.min(group.activities.length, 50);
    return activity;
  }

  private finishActivity(group: GroupRecord, instanceId: string, t: number): void {
    for (const a of group.activities) {
      if (a.status === 'InProgress' && a.description.endsWith(instanceId))
        Object.assign(a, { status: 'Successful', end: t });
    }
  }

  private activityOutput(group: GroupRecord, a: GroupRecord['activities'][number]): Activity {
    return {
      ActivityId: a.id,
      AutoScalingGroupName: group.name,
      Description: a.description,
      Cause: a.cause,
      StartTime: new Date(a.start),
      ...(a.end !== undefined && { EndTime: new Date(a.end) }),
      StatusCode: a.status,
      Progress: a.status === 'Successful' ? 100 : 50,
    };
  }

  private groupOutput(g: GroupRecord): AutoScalingGroup {
    return {
      AutoScalingGroupName: g.name,
      AutoScalingGroupARN: `arn:aws:autoscaling:${this.ctx.region}:${this.ctx.accountId}:autoScalingGroup:${g.name.length}:autoScalingGroupName/${g.name}`,
      MinSize: g.min,
      MaxSize: g.max,
      DesiredCapacity: g.desired,
      DefaultCooldown: 300,
      AvailabilityZones: ['a', 'b', 'c'].map((z) => `${this.ctx.region}${z}`),
      HealthCheckType: 'EC2',
      HealthCheckGracePeriod: 0,
      CreatedTime: new Date(g.createdAt),
      NewInstancesProtectedFromScaleIn: g.newInstancesProtected,
      TerminationPolicies: ['Default'],
      Instances: g.instances.map((i) => ({
        InstanceId: i.id,
        InstanceType: g.instanceType,
        AvailabilityZone: i.availabilityZone,
        LifecycleState: i.state,
        HealthStatus: 'Healthy',
        ProtectedFromScaleIn: i.protectedFromScaleIn,
      })),
      Tags: [
        {
          Key: 'stackpilot:cluster',
          Value: g.clusterName,
          ResourceId: g.name,
          ResourceType: 'auto-scaling-group',
          PropagateAtLaunch: true,
        },
      ],
    };
  }
}
