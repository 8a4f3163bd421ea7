import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ContainerInstanceView,
  canTerminate,
  chooseInstanceToDrain,
  drainStatus,
  roomElsewhere,
  tasksOn,
} from '../../../shared/scaling/instances.ts';

/** A task of the starter app: 256 CPU units, 512 MiB. */
const TASK = { cpu: 256, memory: 512 };

/** An instance with room for `slots` tasks (default 10), `running + pending` of them in use. */
const instance = (
  id: string,
  running: number,
  status = 'ACTIVE',
  pending = 0,
  slots = 10,
): ContainerInstanceView => ({
  arn: `arn:aws:ecs:us-east-1:111122223333:container-instance/c/${id}`,
  ec2InstanceId: id,
  status,
  runningTasksCount: running,
  pendingTasksCount: pending,
  registered: { cpu: slots * TASK.cpu, memory: slots * TASK.memory },
  remaining: {
    cpu: (slots - running - pending) * TASK.cpu,
    memory: (slots - running - pending) * TASK.memory,
  },
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
      [instance('i-a', 0), instance('i-b', 2), instance('i-c', 3)],
      [
        { instanceId: 'i-a', lifecycleState: 'Pending' },
        { instanceId: 'i-b', lifecycleState: 'InService' },
        { instanceId: 'i-c', lifecycleState: 'InService' },
      ],
      3,
      1,
    );
    expect(choice.drain?.ec2InstanceId).toBe('i-b');
  });

  it('drains nothing when the other instances have no room for the tasks of the emptiest one', () => {
    // t3.micro-like instances that hold one task each, all busy.
    const full = (id: string) => instance(id, 1, 'ACTIVE', 0, 1);
    const choice = chooseInstanceToDrain(
      [full('i-a'), full('i-b'), full('i-c')],
      inService('i-a', 'i-b', 'i-c'),
      3,
      1,
    );
    expect(choice).toEqual({
      reason:
        'no room on the other instances for the 1 task of i-a (0 free slots for tasks of 256 CPU units and 512 MiB each): not drained',
    });
  });

  it('does not count the room of an instance the group has not InService, or of a DRAINING one', () => {
    const choice = chooseInstanceToDrain(
      [instance('i-a', 1, 'ACTIVE', 0, 1), instance('i-b', 0, 'DRAINING'), instance('i-c', 0)],
      [
        { instanceId: 'i-a', lifecycleState: 'InService' },
        { instanceId: 'i-b', lifecycleState: 'InService' },
        { instanceId: 'i-c', lifecycleState: 'Pending' },
      ],
      3,
      1,
    );
    // i-b is finished first (an interrupted drain); without it, i-a has nowhere to go.
    expect(choice).toMatchObject({ resumed: true, drain: { ec2InstanceId: 'i-b' } });
    expect(roomElsewhere(instance('i-a', 1, 'ACTIVE', 0, 1), [instance('i-b', 0, 'DRAINING')]).fits).toBe(
      false,
    );
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

describe('roomElsewhere', () => {
  it('lets an instance with no task go, whatever the rest', () => {
    expect(roomElsewhere(instance('i-a', 0), []).fits).toBe(true);
  });

  it('counts whole tasks per instance, limited by CPU and by memory', () => {
    // Two tasks to move; i-b has CPU for 3 more but memory for 1, i-c memory for 3 but CPU for 0.
    const b: ContainerInstanceView = { ...instance('i-b', 1), remaining: { cpu: 3 * 256, memory: 512 } };
    const c: ContainerInstanceView = { ...instance('i-c', 1), remaining: { cpu: 100, memory: 3 * 512 } };
    expect(roomElsewhere(instance('i-a', 2), [b, c])).toMatchObject({ fits: false });
    const d: ContainerInstanceView = { ...instance('i-d', 1), remaining: { cpu: 256, memory: 600 } };
    expect(roomElsewhere(instance('i-a', 2), [b, c, d])).toMatchObject({ fits: true });
  });

  it('does not drain an instance whose resources ECS did not report', () => {
    const { registered: _r, remaining: _m, ...bare } = instance('i-a', 1);
    expect(roomElsewhere(bare, [instance('i-b', 0)])).toEqual({
      fits: false,
      reason:
        'no room on the other instances for the 1 task of i-a (ECS reported no resources for i-a): not drained',
    });
  });

  /** Instances of one cluster: every task reserves `size`; `slots` tasks fit on each instance. */
  const clusterArb = fc
    .record({
      size: fc.record({ cpu: fc.integer({ min: 0, max: 1024 }), memory: fc.integer({ min: 1, max: 2048 }) }),
      instances: fc.array(
        fc.record({
          slots: fc.integer({ min: 1, max: 6 }),
          used: fc.integer({ min: 0, max: 6 }),
          status: fc.constantFrom('ACTIVE', 'ACTIVE', 'ACTIVE', 'DRAINING'),
          extra: fc.record({
            cpu: fc.integer({ min: 0, max: 300 }),
            memory: fc.integer({ min: 0, max: 600 }),
          }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      min: fc.integer({ min: 0, max: 3 }),
    })
    .map(({ size, instances, min }) => ({
      size,
      min,
      instances: instances.map((i, n): ContainerInstanceView => {
        const used = Math.min(i.used, i.slots);
        const id = `i-${String(n).padStart(4, '0')}`;
        return {
          arn: `arn:aws:ecs:us-east-1:111122223333:container-instance/c/${id}`,
          ec2InstanceId: id,
          status: i.status,
          runningTasksCount: used,
          pendingTasksCount: 0,
          // Odd leftovers (`extra`) that are not enough for a task on their own, or are.
          registered: {
            cpu: i.slots * size.cpu + i.extra.cpu,
            memory: i.slots * size.memory + i.extra.memory,
          },
          remaining: {
            cpu: (i.slots - used) * size.cpu + i.extra.cpu,
            memory: (i.slots - used) * size.memory + i.extra.memory,
          },
        };
      }),
    }));

  /** Places the tasks one by one on the first ACTIVE instance with room: can every one be placed? */
  function placeable(tasks: number, size: { cpu: number; memory: number }, others: ContainerInstanceView[]) {
    const free = others
      .filter((o) => o.status === 'ACTIVE')
      .map((o) => ({ cpu: o.remaining?.cpu ?? 0, memory: o.remaining?.memory ?? 0 }));
    for (let t = 0; t < tasks; t++) {
      const host = free.find((f) => f.cpu >= size.cpu && f.memory >= size.memory);
      if (!host) return false;
      host.cpu -= size.cpu;
      host.memory -= size.memory;
    }
    return true;
  }

  it('property: scale-in never starts draining an instance whose tasks would not fit on the other ACTIVE instances', () => {
    fc.assert(
      fc.property(clusterArb, ({ size, instances, min }) => {
        const group = inService(...instances.map((i) => i.ec2InstanceId));
        const choice = chooseInstanceToDrain(instances, group, instances.length, min);
        if (choice.drain && !('resumed' in choice && choice.resumed)) {
          const others = instances.filter((i) => i.ec2InstanceId !== choice.drain?.ec2InstanceId);
          expect(placeable(tasksOn(choice.drain), size, others)).toBe(true);
        }
      }),
    );
  });

  it('property: for tasks of one size, room is found exactly when the tasks can be placed one by one', () => {
    fc.assert(
      fc.property(clusterArb, ({ size, instances }) => {
        const [first, ...others] = instances;
        if (!first) return;
        expect(roomElsewhere(first, others).fits).toBe(placeable(tasksOn(first), size, others));
      }),
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
