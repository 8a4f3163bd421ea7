import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ContainerInstanceView,
  canTerminate,
  chooseInstanceToDrain,
  drainStatus,
  tasksOn,
} from '../../../shared/scaling/instances.ts';

const instance = (id: string, running: number, status = 'ACTIVE', pending = 0): ContainerInstanceView => ({
  arn: `arn:aws:ecs:us-east-1:111122223333:container-instance/c/${id}`,
  ec2InstanceId: id,
  status,
  runningTasksCount: running,
  pendingTasksCount: pending,
});
const inService = (...ids: string[]) =>
  ids.map((instanceId) => ({ instanceId, lifecycleState: 'InService' }));

const instanceArb = fc.record({
  arn: fc.string(),
  ec2InstanceId: fc.stringMatching(/^i-[0-9a-f]{4}$/),
  status: fc.constantFrom('ACTIVE', 'DRAINING', 'REGISTERING', 'INACTIVE'),
  runningTasksCount: fc.integer({ min: 0, max: 20 }),
  pendingTasksCount: fc.integer({ min: 0, max: 3 }),
});

describe('chooseInstanceToDrain', () => {
  it('picks the ACTIVE instance with the fewest tasks', () => {
    const choice = chooseInstanceToDrain(
      [instance('i-a', 3), instance('i-b', 1, 'ACTIVE', 1), instance('i-c', 1)],
      inService('i-a', 'i-b', 'i-c'),
      3,
      1,
    );
    expect(choice.drain?.ec2InstanceId).toBe('i-c');
  });

  it('breaks ties by instance id, so the choice is repeatable', () => {
    const choice = chooseInstanceToDrain(
      [instance('i-b', 0), instance('i-a', 0)],
      inService('i-a', 'i-b'),
      2,
      1,
    );
    expect(choice.drain?.ec2InstanceId).toBe('i-a');
  });

  it('finishes an interrupted drain first', () => {
    const choice = chooseInstanceToDrain(
      [instance('i-a', 0), instance('i-b', 4, 'DRAINING')],
      inService('i-a', 'i-b'),
      2,
      1,
    );
    expect(choice).toMatchObject({ resumed: true, drain: { ec2InstanceId: 'i-b' } });
  });

  it('ignores instances the group does not have InService', () => {
    const choice = chooseInstanceToDrain(
      [instance('i-a', 0), instance('i-b', 2)],
      [
        { instanceId: 'i-a', lifecycleState: 'Pending' },
        { instanceId: 'i-b', lifecycleState: 'InService' },
      ],
      2,
      1,
    );
    expect(choice.drain?.ec2InstanceId).toBe('i-b');
  });

  it('drains nothing at the minimum', () => {
    expect(chooseInstanceToDrain([instance('i-a', 0)], inService('i-a'), 1, 1)).toEqual({
      reason: 'already at the minimum of 1 instance',
    });
  });

  it('property: never below min, and the chosen ACTIVE instance has the fewest tasks', () => {
    fc.assert(
      fc.property(
        fc.array(instanceArb, { maxLength: 8 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        (instances, desired, min) => {
          const group = inService(...instances.map((i) => i.ec2InstanceId));
          const choice = chooseInstanceToDrain(instances, group, desired, min);
          if (desired - 1 < min) expect(choice.drain).toBeUndefined();
          if (choice.drain && !('resumed' in choice && choice.resumed)) {
            expect(choice.drain.status).toBe('ACTIVE');
            const fewest = Math.min(...instances.filter((i) => i.status === 'ACTIVE').map(tasksOn));
            expect(tasksOn(choice.drain)).toBe(fewest);
          }
        },
      ),
    );
  });
});

describe('termination guard', () => {
  it('property: an instance is terminable only when DRAINING with no running and no pending task', () => {
    fc.assert(
      fc.property(instanceArb, (i) => {
        expect(canTerminate(i)).toBe(
          i.status === 'DRAINING' && i.runningTasksCount === 0 && i.pendingTasksCount === 0,
        );
      }),
    );
  });

  it('property: a drain is EMPTY only when nothing runs, whatever the clock says', () => {
    fc.assert(
      fc.property(instanceArb, fc.integer({ min: -10_000, max: 10_000 }), (i, offset) => {
        const now = new Date('2026-01-01T00:00:00Z');
        const status = drainStatus(i, new Date(now.getTime() + offset), now);
        if (status === 'EMPTY') expect(tasksOn(i)).toBe(0);
        if (status === 'TIMED_OUT') expect(offset).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('times out at the deadline with tasks left', () => {
    const now = new Date('2026-01-01T00:10:00Z');
    expect(drainStatus(instance('i-a', 2, 'DRAINING'), new Date('2026-01-01T00:10:00Z'), now)).toBe(
      'TIMED_OUT',
    );
    expect(drainStatus(instance('i-a', 2, 'DRAINING'), new Date('2026-01-01T00:11:00Z'), now)).toBe(
      'DRAINING',
    );
    expect(drainStatus(instance('i-a', 0, 'DRAINING'), new Date('2026-01-01T00:00:00Z'), now)).toBe('EMPTY');
  });
});
