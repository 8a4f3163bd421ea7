/** Auto Scaling calls of the `scale` state machine: a group's capacity and its instances. */
import {
  type AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  SetDesiredCapacityCommand,
  SetInstanceProtectionCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { ScalingTargetNotFound } from './errors.ts';
import type { GroupInstanceView } from './instances.ts';

export interface GroupInstance extends GroupInstanceView {
  readonly protectedFromScaleIn: boolean;
}

export interface GroupCapacity {
  readonly name: string;
  readonly desiredCapacity: number;
  readonly minSize: number;
  readonly maxSize: number;
  readonly instances: readonly GroupInstance[];
}

/** The group's capacity and instances; {@link ScalingTargetNotFound} when there is no such group. */
export async function describeGroup(name: string, autoScaling: AutoScalingClient): Promise<GroupCapacity> {
  const response = await autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [name] }),
  );
  const group = response.AutoScalingGroups?.find((g) => g.AutoScalingGroupName === name);
  if (!group) throw new ScalingTargetNotFound(`Auto Scaling group ${name} does not exist`);
  return {
    name,
    desiredCapacity: group.DesiredCapacity ?? 0,
    minSize: group.MinSize ?? 0,
    maxSize: group.MaxSize ?? 0,
    instances: (group.Instances ?? []).map((i) => ({
      instanceId: i.InstanceId ?? '',
      lifecycleState: i.LifecycleState ?? 'Unknown',
      protectedFromScaleIn: i.ProtectedFromScaleIn ?? false,
    })),
  };
}

/** Sets the group's desired capacity now (the group's own cooldown does not apply to this control loop). */
export async function setDesiredCapacity(
  name: string,
  desiredCapacity: number,
  autoScaling: AutoScalingClient,
): Promise<void> {
  await autoScaling.send(
    new SetDesiredCapacityCommand({
      AutoScalingGroupName: name,
      DesiredCapacity: desiredCapacity,
      HonorCooldown: false,
    }),
  );
}

/** Removes (or sets) an instance's scale-in protection. */
export async function setInstanceProtection(
  name: string,
  instanceId: string,
  protectedFromScaleIn: boolean,
  autoScaling: AutoScalingClient,
): Promise<void> {
  await autoScaling.send(
    new SetInstanceProtectionCommand({
      AutoScalingGroupName: name,
      InstanceIds: [instanceId],
      ProtectedFromScaleIn: protectedFromScaleIn,
    }),
  );
}

/** Terminates one instance and lowers the group's desired capacity by one, so the group does not replace it. */
export async function terminateInstanceInGroup(
  instanceId: string,
  autoScaling: AutoScalingClient,
): Promise<void> {
  await autoScaling.send(
    new TerminateInstanceInAutoScalingGroupCommand({
      InstanceId: instanceId,
      ShouldDecrementDesiredCapacity: true,
    }),
  );
}
