/**
 * The CDK app's templates as the sandbox (and the AWS conformance suite) reads them:
 * the CloudFormation evaluator, the converter to SDK inputs and the synthesis cache.
 */
export * from './convert.ts';
export * from './evaluate.ts';
export * from './resource-types.ts';
export * from './template.ts';
