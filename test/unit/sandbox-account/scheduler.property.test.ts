/**
 * Property: whatever sequence of scaling, draining, capacity changes and new revisions, the
 * emulated scheduler never over-commits an instance, and once things calm down the service
 * runs what fits (its desired count, or every free slot), on the new revision when there
 * was room to roll.
 */

import { AutoScalingClient, SetDesiredCapacityCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeContainerInstancesCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  ListContainerInstancesCommand,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  UpdateContainerInstancesStateCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stageNames } from '#shared/naming.ts';
import { clientConfig, newDataDir, removeDataDir, testAccount } from './support.ts';

const names = stageNames('shop', 'dev');
const cluster = names.cluster;

type Op =
  | { kind: 'desired'; count: number }
  | { kind: 'capacity'; count: number }
  | { kind: 'drain'; pick: number }
  | { kind: 'activate'; pick: number }
  | { kind: 'revision' }
  | { kind: 'wait'; seconds: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('desired' as const), count: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant('capacity' as const), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ kind: fc.constant('drain' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('activate' as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant('revision' as const) }),
  fc.record({ kind: fc.constant('wait' as const), seconds: fc.integer({ min: 1, max: 90 }) }),
);

const resource = (list: { name?: string; integerValue?: number }[] | undefined, name: string) =>
  list?.find((r) => r.name === name)?.integerValue ?? 0;

describe('emulated ECS scheduler', () => {
  it('never over-commits an instance and settles on what fits', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 12 }), async (ops) => {
        const dataDir = newDataDir();
        try {
          const { account, advance } = await testAccount({ dataDir });
          const ecs = new ECSClient(clientConfig);
          const autoScaling = new AutoScalingClient(clientConfig);
          account.attach([ecs, autoScaling]);
          const instances = async () => {
            const arns =
              (await ecs.send(new ListContainerInstancesCommand({ cluster }))).containerInstanceArns ?? [];
            return arns.length === 0
              ? []
              : ((
                  await ecs.send(new DescribeContainerInstancesCommand({ cluster, containerInstances: arns }))
                ).containerInstances ?? []);
          };
          const checkNoOvercommit = async () => {
            for (const i of await instances()) {
              expect(resource(i.remainingResources, 'CPU')).toBeGreaterThanOrEqual(0);
              expect(resource(i.remainingResources, 'MEMORY')).toBeGreaterThanOrEqual(0);
            }
          };
          let revision = 1;
          for (const step of ops) {
            const all = await instances();
            if (step.kind === 'desired') {
              await ecs.send(
                new UpdateServiceCommand({ cluster, service: names.service, desiredCount: step.count }),
              );
            } else if (step.kind === 'capacity') {
              await autoScaling.send(
                new SetDesiredCapacityCommand({
                  AutoScalingGroupName: names.autoScalingGroup,
                  DesiredCapacity: step.count,
                }),
              );
            } else if (step.kind === 'drain' || step.kind === 'activate') {
              const target = all[step.pick % Math.max(1, all.length)];
              if (target?.containerInstanceArn) {
                await ecs.send(
                  new UpdateContainerInstancesStateCommand({
                    cluster,
                    containerInstances: [target.containerInstanceArn],
                    status: step.kind === 'drain' ? 'DRAINING' : 'ACTIVE',
                  }),
                );
              }
            } else if (step.kind === 'revision') {
              const { taskDefinition } = await ecs.send(
                new DescribeTaskDefinitionCommand({ taskDefinition: names.taskFamily }),
              );
              const { family, containerDefinitions, networkMode } = taskDefinition ?? {};
              revision += 1;
              const input: RegisterTaskDefinitionCommandInput = {
                family,
                networkMode,
                containerDefinitions: containerDefinitions?.map((c) => ({
                  ...c,
                  image: `${c.image?.split(':')[0]}:v${revision}`,
                })),
              };
              const registered = await ecs.send(new RegisterTaskDefinitionCommand(input));
              await ecs.send(
                new UpdateServiceCommand({
                  cluster,
                  service: names.service,
                  taskDefinition: registered.taskDefinition?.taskDefinitionArn,
                }),
              );
            } else {
              for (let s = 0; s < step.seconds; s += 10) {
                advance(Math.min(10, step.seconds - s) * 1000);
                await checkNoOvercommit();
              }
            }
          }

          // Calm: every instance ACTIVE again, five quiet minutes.
          for (const i of await instances()) {
            await ecs.send(
              new UpdateContainerInstancesStateCommand({
                cluster,
                containerInstances: [i.containerInstanceArn ?? ''],
                status: 'ACTIVE',
              }),
            );
          }
          advance(5 * 60_000);
          await checkNoOvercommit();
          const service = (
            await ecs.send(new DescribeServicesCommand({ cluster, services: [names.service] }))
          ).services?.[0];
          // A t3.small registers 1939 MiB and 2048 CPU units: three 512 MiB / 256-unit tasks.
          const slots = (await instances()).length * 3;
          const desired = service?.desiredCount ?? 0;
          expect(service?.runningCount).toBe(Math.min(desired, slots));
          if (desired < slots) {
            expect(service?.deployments).toHaveLength(1);
            expect(service?.deployments?.[0]).toMatchObject({ status: 'PRIMARY', rolloutState: 'COMPLETED' });
            expect(service?.deployments?.[0]?.taskDefinition).toMatch(new RegExp(`:${revision}$`));
          }
        } finally {
          removeDataDir(dataDir);
        }
      }),
      { numRuns: 15 },
    );
  });
});
