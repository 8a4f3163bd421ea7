/**
 * The shape of a synthesized CloudFormation template, as far as the evaluator reads it.
 * Values stay `unknown`: they are JSON with intrinsic functions anywhere.
 */

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Condition?: string;
  readonly DependsOn?: string | readonly string[];
  readonly DeletionPolicy?: string;
}

export interface TemplateParameter {
  readonly Type: string;
  readonly Default?: unknown;
  readonly Description?: string;
}

export interface TemplateOutput {
  readonly Value: unknown;
  readonly Description?: string;
  readonly Condition?: string;
  readonly Export?: { readonly Name: unknown };
}

export interface Template {
  readonly Description?: string;
  readonly Parameters?: Readonly<Record<string, TemplateParameter>>;
  readonly Mappings?: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, unknown>>>>>>;
  readonly Conditions?: Readonly<Record<string, unknown>>;
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Outputs?: Readonly<Record<string, TemplateOutput>>;
  readonly Rules?: Readonly<Record<string, unknown>>;
}

/** One stack of a synthesized app: its name, its template and the stacks it depends on. */
export interface StackTemplate {
  readonly stackName: string;
  readonly template: Template;
  /** Names of the stacks deployed before this one. */
  readonly dependencies: readonly string[];
}

/** Every stack of a synthesized app, in deployment order. */
export interface TemplateSet {
  /** Hash of what the templates were synthesized from (configuration and infra code). */
  readonly hash: string;
  readonly stacks: readonly StackTemplate[];
}

/** A template that cannot be evaluated: the message names the stack, the resource and the property. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}
