/**
 * The capacity rule: tasks per instance, the room of a rolling deploy, the instances a task
 * count needs, and the bounds and warnings that follow from them.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../shared/config.ts';
import { loadConfigFile } from '../../../shared/config-file.ts';
import {
  capacityWarnings,
  deployHeadroom,
  instancesNeeded,
  instancesOnTheirWay,
  serviceTaskBounds,
  stageCapacity,
  tasksPerInstance,
} from '../../../shared/scaling/capacity.ts';

const stageOf = (stage: Record<string, unknown>, app: Record<string, unknown> = {}) => {
  const config = parseConfig({
    apps: {
      web: {
        repository: { provider: 'github', url: 'https://github.com/o/web.git' },
        ...app,
        stages: { dev: { branch: 'main', ...stage } },
      },
    },
  });
  const appConfig = config.apps.web;
  if (!appConfig?.stages.dev) throw new Error('no stage');
  return { config, ref: { appConfig, stageConfig: appConfig.stages.dev } };
};

describe('capacity rule', () => {
  it('counts the tasks an instance holds by CPU and by memory, whichever binds first', () => {
    // A t3.micro registers 2048 CPU units and 943 MiB: memory binds.
    expect(tasksPerInstance({ cpu: 256, memory: 512 }, { cpu: 2048, memory: 943 })).toBe(1);
    expect(tasksPerInstance({ cpu: 256, memory: 256 }, { cpu: 2048, memory: 943 })).toBe(3);
    expect(tasksPerInstance({ cpu: 1024, memory: 128 }, { cpu: 2048, memory: 943 })).toBe(2);
    expect(tasksPerInstance({ cpu: 4096, memory: 128 }, { cpu: 2048, memory: 943 })).toBe(0);
  });

  it('needs one free slot for a rolling deploy only when no old task may stop first', () => {
    const deployment = {
      minHealthyPercent: 100,
      maxPercent: 200,
      timeoutMinutes: 15,
      bakeMinutes: 3,
      errorRatePercent: 5,
    };
    expect(deployHeadroom(1, deployment)).toBe(1);
    expect(deployHeadroom(4, deployment)).toBe(1);
    expect(deployHeadroom(0, deployment)).toBe(0);
    // 50% of 4 is 2: ECS stops two old tasks first.
    expect(deployHeadroom(4, { ...deployment, minHealthyPercent: 50 })).toBe(0);
    // 50% of 1 rounds up to 1: the only task must keep running.
    expect(deployHeadroom(1, { ...deployment, minHealthyPercent: 50 })).toBe(1);
  });

  it('holds the default dev stage and its rolling deploy on one instance', () => {
    const config = loadConfigFile('stackpilot.yml');
    const app = config.apps.starter;
    const dev = app?.stages.dev;
    if (!app || !dev) throw new Error('starter/dev is missing from stackpilot.yml');
    const capacity = stageCapacity(app, dev);
    expect(capacity.perInstance).toBe(3);
    expect(capacity.instancesFor(dev.tasks.min)).toBe(1);
    expect(instancesNeeded({ appConfig: app, stageConfig: dev }, dev.tasks.min)).toBe(dev.instances.min);
    expect(capacityWarnings(config)).toEqual([]);
  });

  it('never lets the service scale past what the cluster holds at its maximum', () => {
    // 512 MiB tasks on t3.micro: one per instance, and one slot kept for the deploy: 3 instances hold 2.
    const { ref } = stageOf({ tasks: { min: 1, max: 5 }, instances: { min: 1, max: 3 } }, { memory: 512 });
    expect(serviceTaskBounds(ref)).toEqual({ min: 1, max: 2 });
    expect(instancesNeeded(ref, 2)).toBe(3);
    expect(instancesNeeded(ref, 5)).toBe(3);
    // With room to spare the configured maximum stands.
    const roomy = stageOf({ tasks: { min: 1, max: 5 }, instances: { min: 1, max: 3 } }, { memory: 256 });
    expect(serviceTaskBounds(roomy.ref)).toEqual({ min: 1, max: 5 });
    expect(instancesNeeded(roomy.ref, 5)).toBe(2);
  });

  it('warns when tasks.max cannot fit on instances.max, or tasks.min needs more than instances.min', () => {
    const { config } = stageOf({ tasks: { min: 1, max: 5 }, instances: { min: 1, max: 3 } }, { memory: 512 });
    expect(capacityWarnings(config)).toEqual([
      'apps.web.stages.dev: tasks.max is 5 but 3 t3.micro instance(s) hold 2 task(s) of 256 CPU units / 512 MiB with room for a rolling deploy (1 per instance); scaling stops at 2',
      'apps.web.stages.dev: tasks.min 1 with room for a rolling deploy needs 2 t3.micro instance(s), instances.min is 1; a deploy adds an instance',
    ]);
    const tooBig = stageOf({}, { cpu: 4096 });
    expect(capacityWarnings(tooBig.config)[0]).toContain(
      'a task of 4096 CPU units / 512 MiB does not fit on a t3.micro',
    );
  });

  it('counts the instances launched but not yet registered', () => {
    expect(instancesOnTheirWay(3, 2)).toBe(1);
    expect(instancesOnTheirWay(2, 3)).toBe(0);
  });
});
