/**
 * The one Powertools logger and tracer of every function, and the wrappers that give
 * each handler the same middlewares. Adapters create their SDK clients once per module
 * with `tracer.captureAWSv3Client` (see `shared/aws/clients.ts`).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { toTaskError } from './errors.ts';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'stackpilot' });
export const tracer = new Tracer({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'stackpilot' });

/** Wraps a handler with the standard middlewares (logger context, tracing), middlewares first. */
export function instrument<TEvent, TResult>(handler: (event: TEvent, context: Context) => Promise<TResult>) {
  return middy<TEvent, TResult>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(captureLambdaHandler(tracer))
    .handler(handler);
}

/**
 * Wraps the handler of a state machine Task: {@link instrument} plus the error mapping
 * the ASL relies on (transient AWS failures are thrown as `TransientError`, retried by
 * the state machine; every other error keeps its name for the Catch clauses).
 */
export function instrumentTask<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
) {
  return instrument<TEvent, TResult>(async (event, context) => {
    try {
      return await handler(event, context);
    } catch (error) {
      const taskError = toTaskError(error);
      logger.error('task failed', { error: taskError });
      throw taskError;
    }
  });
}
