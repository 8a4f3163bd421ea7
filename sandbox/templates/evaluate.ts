/**
 * A small CloudFormation evaluator: resolves the intrinsic functions of a synthesized
 * template (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If and the
 * condition functions, Fn::Base64, Fn::GetAZs, Fn::FindInMap, Fn::ImportValue and CDK's
 * Fn::GetStackOutput), with parameters (SSM-typed ones read from an SSM lookup), pseudo
 * parameters and conditions, the way CloudFormation does when it creates the stack.
 *
 * Evaluation is lazy: a resource's properties are resolved when asked for, and only the
 * references they make are followed, so a caller that creates an ECS service never needs
 * the attributes of a VPC endpoint. Whoever creates a resource can `provide()` what Ref and
 * Fn::GetAtt return for it (a task definition's ARN and revision, a custom resource's
 * physical id). Anything the evaluator cannot resolve is a `TemplateError` naming the stack,
 * the resource and the property: never a silently dropped value.
 */
import { generatedName, RESOURCE_TYPES, type ResourceIdentity } from './resource-types.ts';
import { type Template, TemplateError, type TemplateResource } from './template.ts';

/** `Ref: AWS::NoValue`: the property (or list element) is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

export interface StackContext {
  readonly stackName: string;
  readonly accountId: string;
  readonly region: string;
  /** @default 'aws' */
  readonly partition?: string;
  /** @default 'amazonaws.com' */
  readonly urlSuffix?: string;
  /** Parameter values given to the stack (they override the template's defaults). */
  readonly parameters?: Readonly<Record<string, string>>;
  /** The value of an SSM parameter, for `AWS::SSM::Parameter::Value<…>` parameters; undefined when it does not exist. */
  readonly ssmParameter?: (name: string) => string | undefined;
  /** `Fn::GetStackOutput` (CDK's weak cross-stack references). */
  readonly stackOutput?: (stackName: string, outputName: string, region: string) => unknown;
  /** `Fn::ImportValue`. */
  readonly importValue?: (exportName: string) => unknown;
  /** `Fn::GetAZs`. @default the region's zones a, b and c */
  readonly availabilityZones?: (region: string) => string[];
}

/** What Ref and Fn::GetAtt return for a resource that was created (overrides the type's model). */
export interface ProvidedResource {
  readonly ref?: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
}

/** Where a value sits, for error messages. */
interface Where {
  readonly logicalId?: string;
  /** `Outputs.X`, `Conditions.Y` or the property path inside the resource. */
  readonly path: string;
}

type Json = unknown;

const PSEUDO = new Set([
  'AWS::Region',
  'AWS::AccountId',
  'AWS::Partition',
  'AWS::URLSuffix',
  'AWS::StackName',
  'AWS::StackId',
  'AWS::NoValue',
  'AWS::NotificationARNs',
]);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The intrinsic function of a `{ "Fn::X": … }` or `{ "Ref": … }` object, if it is one. */
function intrinsicOf(value: Record<string, unknown>): string | undefined {
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  const [key] = keys as [string];
  return key === 'Ref' || key.startsWith('Fn::') || key === 'Condition' ? key : undefined;
}

/** Evaluates one stack's template. */
export class StackEvaluator {
  readonly stackName: string;
  private readonly provided = new Map<string, ProvidedResource>();
  private readonly inProgress = new Set<string>();
  private readonly conditions = new Map<string, boolean>();

  constructor(
    readonly template: Template,
    private readonly ctx: StackContext,
  ) {
    this.stackName = ctx.stackName;
  }

  /** The template's resource; a TemplateError when there is none. */
  resource(logicalId: string): TemplateResource {
    const resource = this.template.Resources[logicalId];
    if (!resource) throw new TemplateError(`stack ${this.stackName}: no resource ${logicalId}`);
    return resource;
  }

  /** Whether the resource is created (its Condition, if any, is true). */
  isActive(logicalId: string): boolean {
    const condition = this.resource(logicalId).Condition;
    return condition === undefined || this.condition(condition);
  }

  /** Logical ids of the created resources (of one type, or all), in template order. */
  logicalIds(type?: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([id, r]) => (type === undefined || r.Type === type) && this.isActive(id))
      .map(([id]) => id);
  }

  /** Every property of a resource, resolved. */
  properties(logicalId: string): Record<string, unknown> {
    const resource = this.resource(logicalId);
    const resolved = this.resolve(resource.Properties ?? {}, { logicalId, path: 'Properties' });
    return isRecord(resolved) ? resolved : {};
  }

  /**
   * One property of a resource, resolved, by a dotted path (`LaunchTemplateData.UserData`,
   * `ContainerDefinitions.0.Image`); undefined when the template does not set it.
   */
  property(logicalId: string, path: string): unknown {
    let raw: unknown = this.resource(logicalId).Properties;
    const walked: string[] = [];
    for (const key of path.split('.')) {
      // An intrinsic on the way (a whole list from Fn::If, say): resolve it, then go on.
      if (isRecord(raw) && intrinsicOf(raw)) raw = this.resolve(raw, { logicalId, path: walked.join('.') });
      if (Array.isArray(raw)) raw = raw[Number(key)];
      else if (isRecord(raw)) raw = raw[key];
      else return undefined;
      walked.push(key);
    }
    if (raw === undefined) return undefined;
    const value = this.resolve(raw, { logicalId, path });
    return value === NO_VALUE ? undefined : value;
  }

  /** Records what Ref and Fn::GetAtt return for a created resource. */
  provide(logicalId: string, provided: ProvidedResource): void {
    this.resource(logicalId);
    const before = this.provided.get(logicalId);
    this.provided.set(logicalId, {
      ref: provided.ref ?? before?.ref,
      attributes: { ...before?.attributes, ...provided.attributes },
    });
  }

  /** The resource's physical name: its name property when the template sets one, else the generated name. */
  physicalName(logicalId: string): string {
    return this.identity(logicalId).name;
  }

  /** What `Ref` returns for a resource. */
  ref(logicalId: string): string {
    const provided = this.provided.get(logicalId)?.ref;
    if (provided !== undefined) return provided;
    const resource = this.resource(logicalId);
    const model = RESOURCE_TYPES[resource.Type];
    const identity = this.identity(logicalId);
    if (!model) {
      if (resource.Type.startsWith('Custom::')) {
        throw new TemplateError(
          `stack ${this.stackName}: Ref to ${logicalId} (${resource.Type}) needs the custom resource to have run first`,
        );
      }
      // A type the sandbox does not model still has a physical id.
      return identity.name;
    }
    return model.ref(identity);
  }

  /** What `Fn::GetAtt` returns for a resource's attribute. */
  getAtt(logicalId: string, attribute: string): unknown {
    const provided = this.provided.get(logicalId)?.attributes;
    if (provided && Object.hasOwn(provided, attribute)) return provided[attribute];
    const resource = this.resource(logicalId);
    const model = RESOURCE_TYPES[resource.Type]?.attributes?.[attribute];
    if (!model) {
      throw new TemplateError(
        `stack ${this.stackName}: Fn::GetAtt ${logicalId}.${attribute}: attribute ${attribute} of ${resource.Type} is not modelled`,
      );
    }
    return model(this.identity(logicalId));
  }

  /** The value of a template parameter: given, else its default; SSM-typed ones read from SSM. */
  parameter(name: string): unknown {
    const definition = this.template.Parameters?.[name];
    if (!definition) throw new TemplateError(`stack ${this.stackName}: no parameter ${name}`);
    const raw = this.ctx.parameters?.[name] ?? definition.Default;
    if (raw === undefined || raw === null) {
      throw new TemplateError(`stack ${this.stackName}: parameter ${name} has no value and no default`);
    }
    const text = String(raw);
    const ssm = /^AWS::SSM::Parameter::Value<(.+)>$/.exec(definition.Type);
    if (ssm) {
      const value = this.ctx.ssmParameter?.(text);
      if (value === undefined) {
        throw new TemplateError(
          `stack ${this.stackName}: parameter ${name} (${definition.Type}): SSM parameter ${text} does not exist`,
        );
      }
      return isListType(ssm[1] ?? '') ? splitList(value) : value;
    }
    return isListType(definition.Type) ? splitList(text) : text;
  }

  /** The value of a named condition of the template. */
  condition(name: string): boolean {
    const known = this.conditions.get(name);
    if (known !== undefined) return known;
    const definition = this.template.Conditions?.[name];
    if (definition === undefined) throw new TemplateError(`stack ${this.stackName}: no condition ${name}`);
    const key = `Conditions.${name}`;
    if (this.inProgress.has(key))
      throw new TemplateError(`stack ${this.stackName}: condition ${name} refers to itself`);
    this.inProgress.add(key);
    try {
      const value = this.booleanOf(definition, { path: key });
      this.conditions.set(name, value);
      return value;
    } finally {
      this.inProgress.delete(key);
    }
  }

  /** One output's value (undefined when its condition is false). */
  output(name: string): unknown {
    const output = this.template.Outputs?.[name];
    if (!output) throw new TemplateError(`stack ${this.stackName}: no output ${name}`);
    if (output.Condition !== undefined && !this.condition(output.Condition)) return undefined;
    return this.resolve(output.Value, { path: `Outputs.${name}` });
  }

  /** The export names of the stack's outputs, resolved, and the output each belongs to. */
  exportNames(): Map<string, string> {
    const names = new Map<string, string>();
    for (const [name, output] of Object.entries(this.template.Outputs ?? {})) {
      if (output.Export === undefined) continue;
      names.set(String(this.resolve(output.Export.Name, { path: `Outputs.${name}.Export.Name` })), name);
    }
    return names;
  }

  /**
   * The resources (all created ones by default) in an order that creates each after the
   * resources it refers to (Ref, Fn::GetAtt, Fn::Sub) or depends on (DependsOn).
   */
  creationOrder(logicalIds: readonly string[] = this.logicalIds()): string[] {
    const order: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (id: string, from: string[]) => {
      const seen = state.get(id);
      if (seen === 'done') return;
      if (seen === 'visiting') {
        throw new TemplateError(`stack ${this.stackName}: circular dependency ${[...from, id].join(' -> ')}`);
      }
      state.set(id, 'visiting');
      for (const dependency of this.dependencies(id)) visit(dependency, [...from, id]);
      state.set(id, 'done');
      order.push(id);
    };
    for (const id of logicalIds) visit(id, []);
    const wanted = new Set(logicalIds);
    return order.filter((id) => wanted.has(id));
  }

  /** The logical ids a resource refers to or depends on. */
  dependencies(logicalId: string): string[] {
    const resource = this.resource(logicalId);
    const found = new Set<string>(
      resource.DependsOn === undefined
        ? []
        : typeof resource.DependsOn === 'string'
          ? [resource.DependsOn]
          : resource.DependsOn,
    );
    const add = (id: string) => {
      if (this.template.Resources[id]) found.add(id);
    };
    const walk = (value: unknown) => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (isRecord(value)) {
        for (const [key, inner] of Object.entries(value)) {
          if (key === 'Ref' && typeof inner === 'string') add(inner);
          else if (key === 'Fn::GetAtt') {
            const target = Array.isArray(inner) ? inner[0] : String(inner).split('.')[0];
            if (typeof target === 'string') add(target);
          } else if (key === 'Fn::Sub') {
            const text = Array.isArray(inner) ? inner[0] : inner;
            if (typeof text === 'string')
              for (const name of subVariables(text)) add(name.split('.')[0] ?? '');
          }
          walk(inner);
        }
      }
    };
    walk(resource.Properties);
    found.delete(logicalId);
    return [...found];
  }

  /** Resolves every intrinsic function in `value`. */
  resolve(value: Json, where: Where): unknown {
    if (Array.isArray(value)) {
      return value
        .map((item, i) => this.resolve(item, { ...where, path: `${where.path}.${i}` }))
        .filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(value)) return value;
    const fn = intrinsicOf(value);
    if (fn) return this.intrinsic(fn, value[fn], where);
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      const resolved = this.resolve(inner, { ...where, path: `${where.path}.${key}` });
      if (resolved !== NO_VALUE) out[key] = resolved;
    }
    return out;
  }

  // ---- intrinsics ----

  private intrinsic(fn: string, arg: unknown, where: Where): unknown {
    switch (fn) {
      case 'Ref':
        return this.refValue(this.expectString(arg, fn, where), where);
      case 'Fn::GetAtt': {
        const [id, attribute] = Array.isArray(arg)
          ? [this.resolve(arg[0], where), this.resolve(arg[1], where)]
          : splitOnce(this.expectString(arg, fn, where), '.');
        if (typeof id !== 'string' || typeof attribute !== 'string' || !id || !attribute) {
          throw this.error(where, `${fn} takes [logicalId, attribute], got ${JSON.stringify(arg)}`);
        }
        this.expectActiveResource(id, fn, where);
        return this.guarded(`${id}.${attribute}`, where, () => this.getAtt(id, attribute));
      }
      case 'Fn::Join': {
        const [delimiter, list] = this.args(arg, 2, fn, where);
        const items = this.resolve(list, where);
        if (typeof delimiter !== 'string' || !Array.isArray(items)) {
          throw this.error(where, `${fn} takes [delimiter, list], got ${JSON.stringify(arg)}`);
        }
        return items.map((item) => this.scalar(item, fn, where)).join(delimiter);
      }
      case 'Fn::Sub':
        return this.sub(arg, where);
      case 'Fn::Select': {
        const [index, list] = this.args(arg, 2, fn, where);
        const i = Number(this.resolve(index, where));
        const items = this.resolve(list, where);
        if (!Array.isArray(items))
          throw this.error(where, `${fn} needs a list, got ${JSON.stringify(items)}`);
        if (!Number.isInteger(i) || i < 0 || i >= items.length) {
          throw this.error(where, `${fn} index ${String(index)} is outside the list of ${items.length}`);
        }
        return items[i];
      }
      case 'Fn::Split': {
        const [delimiter, text] = this.args(arg, 2, fn, where);
        const value = this.resolve(text, where);
        if (typeof delimiter !== 'string' || typeof value !== 'string') {
          throw this.error(where, `${fn} takes [delimiter, string], got ${JSON.stringify(arg)}`);
        }
        return value.split(delimiter);
      }
      case 'Fn::If': {
        const [name, whenTrue, whenFalse] = this.args(arg, 3, fn, where);
        if (typeof name !== 'string')
          throw this.error(where, `${fn} needs a condition name, got ${JSON.stringify(name)}`);
        return this.resolve(this.condition(name) ? whenTrue : whenFalse, where);
      }
      case 'Fn::Equals':
      case 'Fn::Not':
      case 'Fn::And':
      case 'Fn::Or':
      case 'Condition':
        return this.booleanOf({ [fn]: arg }, where);
      case 'Fn::Base64':
        return Buffer.from(this.scalar(this.resolve(arg, where), fn, where)).toString('base64');
      case 'Fn::GetAZs': {
        const region = String(this.resolve(arg, where) || this.ctx.region);
        return this.ctx.availabilityZones?.(region) ?? ['a', 'b', 'c'].map((zone) => `${region}${zone}`);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = this.args(arg, 3, fn, where).map((a) => String(this.resolve(a, where)));
        const value = this.template.Mappings?.[map ?? '']?.[top ?? '']?.[second ?? ''];
        if (value === undefined) throw this.error(where, `${fn}: no value at ${map}.${top}.${second}`);
        return value;
      }
      case 'Fn::ImportValue': {
        const name = String(this.resolve(arg, where));
        const value = this.ctx.importValue?.(name);
        if (value === undefined) throw this.error(where, `${fn}: no stack exports ${name}`);
        return value;
      }
      case 'Fn::GetStackOutput': {
        if (!isRecord(arg)) throw this.error(where, `${fn} takes {StackName, OutputName, Region}`);
        const stack = String(this.resolve(arg.StackName, where));
        const output = String(this.resolve(arg.OutputName, where));
        const region = arg.Region === undefined ? this.ctx.region : String(this.resolve(arg.Region, where));
        const value = this.ctx.stackOutput?.(stack, output, region);
        if (value === undefined)
          throw this.error(where, `${fn}: stack ${stack} has no output ${output} in ${region}`);
        return value;
      }
      default:
        throw this.error(where, `unsupported intrinsic function ${fn}`);
    }
  }

  private refValue(name: string, where: Where): unknown {
    switch (name) {
      case 'AWS::Region':
        return this.ctx.region;
      case 'AWS::AccountId':
        return this.ctx.accountId;
      case 'AWS::Partition':
        return this.ctx.partition ?? 'aws';
      case 'AWS::URLSuffix':
        return this.ctx.urlSuffix ?? 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return `arn:${this.ctx.partition ?? 'aws'}:cloudformation:${this.ctx.region}:${this.ctx.accountId}:stack/${this.stackName}/${generatedName(this.stackName, 'StackId')}`;
      case 'AWS::NoValue':
        return NO_VALUE;
      case 'AWS::NotificationARNs':
        return [];
    }
    if (this.template.Parameters?.[name]) return this.parameter(name);
    if (PSEUDO.has(name) || !this.template.Resources[name]) {
      throw this.error(where, `Ref to ${name}: no parameter or resource of that name`);
    }
    this.expectActiveResource(name, 'Ref', where);
    return this.guarded(`${name}.Ref`, where, () => this.ref(name));
  }

  private sub(arg: unknown, where: Where): string {
    const [text, vars] = Array.isArray(arg) ? arg : [arg, {}];
    if (typeof text !== 'string' || !isRecord(vars)) {
      throw this.error(where, `Fn::Sub takes a string or [string, variables], got ${JSON.stringify(arg)}`);
    }
    const values = new Map<string, string>();
    for (const [name, value] of Object.entries(vars)) {
      values.set(name, this.scalar(this.resolve(value, where), 'Fn::Sub', where));
    }
    return text.replace(/\$\{(!?)([^}]*)\}/g, (_match, literal: string, name: string) => {
      if (literal) return `\${${name}}`;
      const variable = values.get(name);
      if (variable !== undefined) return variable;
      const [head = '', attribute] = splitOnce(name, '.');
      const value =
        attribute === undefined || PSEUDO.has(name)
          ? this.refValue(name, where)
          : this.intrinsic('Fn::GetAtt', [head, attribute], where);
      return this.scalar(value, 'Fn::Sub', where);
    });
  }

  private booleanOf(value: unknown, where: Where): boolean {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    if (!isRecord(value))
      throw this.error(where, `a condition must be a condition function, got ${JSON.stringify(value)}`);
    const fn = intrinsicOf(value);
    const arg = fn ? value[fn] : undefined;
    switch (fn) {
      case 'Condition':
        return this.condition(this.expectString(arg, fn, where));
      case 'Fn::Equals': {
        const [a, b] = this.args(arg, 2, fn, where).map((x) => this.resolve(x, where));
        return JSON.stringify(normalizeScalar(a)) === JSON.stringify(normalizeScalar(b));
      }
      case 'Fn::Not': {
        const [inner] = this.args(arg, 1, fn, where);
        return !this.booleanOf(inner, where);
      }
      case 'Fn::And':
      case 'Fn::Or': {
        if (!Array.isArray(arg) || arg.length < 2 || arg.length > 10) {
          throw this.error(where, `${fn} takes 2 to 10 conditions, got ${JSON.stringify(arg)}`);
        }
        const values = arg.map((inner) => this.booleanOf(inner, where));
        return fn === 'Fn::And' ? values.every(Boolean) : values.some(Boolean);
      }
      default:
        throw this.error(where, `${fn ?? JSON.stringify(value)} is not a condition function`);
    }
  }

  // ---- helpers ----

  private identity(logicalId: string): ResourceIdentity {
    const resource = this.resource(logicalId);
    const model = RESOURCE_TYPES[resource.Type];
    const named = model?.nameProperty ? this.property(logicalId, model.nameProperty) : undefined;
    return {
      stackName: this.stackName,
      logicalId,
      accountId: this.ctx.accountId,
      region: this.ctx.region,
      partition: this.ctx.partition ?? 'aws',
      urlSuffix: this.ctx.urlSuffix ?? 'amazonaws.com',
      name: named === undefined ? generatedName(this.stackName, logicalId, model?.generated) : String(named),
      property: (path) => this.property(logicalId, path),
    };
  }

  /** Runs `fn` unless `key` is already being resolved (a reference cycle). */
  private guarded<T>(key: string, where: Where, fn: () => T): T {
    if (this.inProgress.has(key)) throw this.error(where, `circular reference through ${key}`);
    this.inProgress.add(key);
    try {
      return fn();
    } finally {
      this.inProgress.delete(key);
    }
  }

  private expectActiveResource(logicalId: string, fn: string, where: Where): void {
    if (!this.template.Resources[logicalId])
      throw this.error(where, `${fn} to ${logicalId}: no such resource`);
    if (!this.isActive(logicalId)) {
      throw this.error(where, `${fn} to ${logicalId}: the resource's condition is false, it is not created`);
    }
  }

  private args(arg: unknown, count: number, fn: string, where: Where): unknown[] {
    if (!Array.isArray(arg) || arg.length !== count) {
      throw this.error(where, `${fn} takes ${count} arguments, got ${JSON.stringify(arg)}`);
    }
    return arg;
  }

  private expectString(arg: unknown, fn: string, where: Where): string {
    if (typeof arg !== 'string') throw this.error(where, `${fn} takes a string, got ${JSON.stringify(arg)}`);
    return arg;
  }

  private scalar(value: unknown, fn: string, where: Where): string {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
      return String(value);
    throw this.error(where, `${fn} needs strings, got ${JSON.stringify(value) ?? String(value)}`);
  }

  private error(where: Where, message: string): TemplateError {
    const resource = where.logicalId ? this.template.Resources[where.logicalId] : undefined;
    const place = where.logicalId
      ? `resource ${where.logicalId} (${resource?.Type ?? 'unknown type'}), ${where.path}`
      : where.path;
    return new TemplateError(`stack ${this.stackName}, ${place}: ${message}`);
  }
}

/** The stacks of a synthesized app evaluated together: Fn::GetStackOutput and Fn::ImportValue between them. */
export class AppEvaluator {
  readonly stacks = new Map<string, StackEvaluator>();

  constructor(
    stacks: readonly { stackName: string; template: Template }[],
    context: Omit<StackContext, 'stackName' | 'stackOutput' | 'importValue'> & {
      /** Parameter values per stack name. */
      readonly stackParameters?: Readonly<Record<string, Readonly<Record<string, string>>>>;
    },
  ) {
    for (const { stackName, template } of stacks) {
      this.stacks.set(
        stackName,
        new StackEvaluator(template, {
          ...context,
          stackName,
          parameters: context.stackParameters?.[stackName],
          stackOutput: (name, output, region) =>
            region === context.region && this.stacks.get(name)?.template.Outputs?.[output]
              ? this.stacks.get(name)?.output(output)
              : undefined,
          importValue: (name) => {
            for (const stack of this.stacks.values()) {
              const output = stack.exportNames().get(name);
              if (output !== undefined) return stack.output(output);
            }
            return undefined;
          },
        }),
      );
    }
  }

  stack(stackName: string): StackEvaluator {
    const stack = this.stacks.get(stackName);
    if (!stack)
      throw new TemplateError(`no stack ${stackName} (stacks: ${[...this.stacks.keys()].join(', ')})`);
    return stack;
  }
}

function isListType(type: string): boolean {
  return type === 'CommaDelimitedList' || type.startsWith('List<');
}

function splitList(value: string): string[] {
  return value.split(',').map((item) => item.trim());
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

/** `${Name}` and `${Resource.Attribute}` variables of a Fn::Sub string (not `${!Literal}`). */
function subVariables(text: string): string[] {
  return [...text.matchAll(/\$\{([^!}][^}]*)\}/g)].map((m) => m[1] ?? '');
}

/** Fn::Equals compares values as CloudFormation passes them: numbers and strings alike. */
function normalizeScalar(value: unknown): unknown {
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : value;
}
