/**
 * The fault middleware itself: it sits in front of the emulated account on the project's
 * SDK clients, throws the service's own throttling error (which the task handlers map to
 * the retried `TransientError`), honours once / always and the Task state it is scoped to,
 * and counts what it threw.
 */
import { DescribeServicesCommand, ECSServiceException } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { clients } from '#shared/aws/clients.ts';
import { isTransient, TransientError, toTaskError } from '#shared/errors.ts';
import { FaultInjector, runInState } from './support/faults.ts';
import { NAMES } from './support/routes.ts';
import { createWorld, type World } from './support/world.ts';

const injector = new FaultInjector();
let world: World;
const describeService = () =>
  clients.ecs.send(new DescribeServicesCommand({ cluster: NAMES.cluster, services: [NAMES.service] }));

beforeAll(async () => {
  world = await createWorld({ injector });
});
afterAll(() => {
  injector.detach();
  world.dispose();
  vi.useRealTimers();
});

describe('fault injection middleware', () => {
  it('lets calls through to the emulated account when nothing is armed', async () => {
    injector.reset();
    const out = await describeService();
    expect(out.services?.[0]?.serviceName).toBe(NAMES.service);
    expect(injector.calls).toEqual([
      { service: 'ecs', command: 'DescribeServices', state: undefined, injected: false },
    ]);
  });

  it('throws the SDK throttling error once, before the SDK retries or the account answers', async () => {
    injector.arm({ service: 'ecs', command: 'DescribeServices', mode: 'once' });
    const error = await describeService().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ECSServiceException);
    expect(error).toMatchObject({
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
      $retryable: { throttling: true },
    });
    expect(isTransient(error)).toBe(true);
    expect(toTaskError(error)).toBeInstanceOf(TransientError);
    await expect(describeService()).resolves.toMatchObject({ services: [{ serviceName: NAMES.service }] });
    expect(injector.fired).toEqual([1]);
  });

  it('throws on every call when always, and only in the Task state it is scoped to', async () => {
    injector.arm({ service: 'ecs', command: 'DescribeServices', mode: 'always', state: 'Check Deployment' });
    await expect(describeService()).resolves.toBeDefined();
    for (let i = 0; i < 3; i++)
      await expect(runInState('Check Deployment', describeService)).rejects.toThrow('Rate exceeded');
    await expect(runInState('Check Rollback', describeService)).resolves.toBeDefined();
    expect(injector.fired).toEqual([3]);
    expect(injector.commandsByState().get('Check Deployment')).toEqual([
      { service: 'ecs', command: 'DescribeServices' },
    ]);
  });

  it('refuses the Invoke of a Task state as the Lambda service does when throttling', () => {
    injector.arm({ service: 'lambda', command: 'Invoke', mode: 'once', state: 'Interpret Event' });
    expect(injector.invokeFault('Interpret Event')?.name).toBe('Lambda.TooManyRequestsException');
    expect(injector.invokeFault('Interpret Event')).toBeUndefined();
    expect(injector.fired).toEqual([1]);
  });
});
