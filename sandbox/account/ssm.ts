/**
 * Emulated SSM Parameter Store (String and StringList parameters): what the templates'
 * SSM-typed parameters resolve from (the released image of each stage) and what the release
 * writes when it completes. Versions count up on every overwrite, as on AWS.
 */
import { join } from 'node:path';
import {
  type DeleteParameterCommandInput,
  type DeleteParameterCommandOutput,
  type GetParameterCommandInput,
  type GetParameterCommandOutput,
  type GetParametersCommandInput,
  type GetParametersCommandOutput,
  type Parameter,
  ParameterAlreadyExists,
  ParameterNotFound,
  type PutParameterCommandInput,
  type PutParameterCommandOutput,
  SSMServiceException,
  UnsupportedParameterType,
} from '@aws-sdk/client-ssm';
import { awsError, namedError } from './errors.ts';
import { JsonFile } from './store.ts';
import type { AccountContext, Emulator, Result } from './types.ts';

interface ParameterRecord {
  value: string;
  type: 'String' | 'StringList' | 'SecureString';
  version: number;
  description?: string;
  lastModified: number;
}

interface SsmState {
  parameters: Record<string, ParameterRecord>;
}

/** Parameter names: letters, digits and `.-_/`, at most 2048 characters, a path starting with `/`. */
const NAME = /^[a-zA-Z0-9_.\-/]{1,2048}$/;

export class SsmEmulator implements Emulator {
  readonly service = 'SSM';
  private readonly file: JsonFile<SsmState>;

  constructor(
    private readonly ctx: AccountContext,
    dataDir: string,
  ) {
    this.file = new JsonFile(join(dataDir, 'account', 'ssm.json'), () => ({ parameters: {} }));
  }

  save(): void {
    this.file.save();
  }

  /** A parameter's value (undefined when there is none): what an SSM-typed template parameter resolves to. */
  value(name: string): string | undefined {
    return this.file.value.parameters[name]?.value;
  }

  readonly commands = {
    PutParameter: (input: PutParameterCommandInput): Result<PutParameterCommandOutput> => {
      const name = input.Name ?? '';
      if (!NAME.test(name)) {
        throw namedError(SSMServiceException, 'ValidationException', `Parameter name ${name} is not valid.`);
      }
      if (input.Value === undefined || input.Value === '') {
        throw namedError(SSMServiceException, 'ValidationException', 'Parameter value must not be empty.');
      }
      const existing = this.file.value.parameters[name];
      if (existing && !input.Overwrite) {
        throw awsError(
          ParameterAlreadyExists,
          'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.',
        );
      }
      const type = input.Type ?? existing?.type;
      if (!type) {
        throw namedError(SSMServiceException, 'ValidationException', 'A new parameter needs a Type.');
      }
      if (type === 'SecureString') {
        throw awsError(UnsupportedParameterType, 'The sandbox keeps String and StringList parameters only.');
      }
      const version = (existing?.version ?? 0) + 1;
      this.file.value.parameters[name] = {
        value: input.Value,
        type,
        version,
        lastModified: this.ctx.clock.now(),
        ...((input.Description ?? existing?.description) !== undefined && {
          description: input.Description ?? existing?.description,
        }),
      };
      return { Version: version, Tier: 'Standard' };
    },
    GetParameter: (input: GetParameterCommandInput): Result<GetParameterCommandOutput> => {
      const parameter = this.parameter(input.Name ?? '');
      if (!parameter) throw awsError(ParameterNotFound, `Parameter ${input.Name} not found.`);
      return { Parameter: parameter };
    },
    GetParameters: (input: GetParametersCommandInput): Result<GetParametersCommandOutput> => {
      const names = input.Names ?? [];
      return {
        Parameters: names.map((n) => this.parameter(n)).filter((p): p is Parameter => p !== undefined),
        InvalidParameters: names.filter((n) => !this.file.value.parameters[n]),
      };
    },
    DeleteParameter: (input: DeleteParameterCommandInput): Result<DeleteParameterCommandOutput> => {
      const name = input.Name ?? '';
      if (!this.file.value.parameters[name])
        throw awsError(ParameterNotFound, `Parameter ${name} not found.`);
      delete this.file.value.parameters[name];
      return {};
    },
  };

  private parameter(name: string): Parameter | undefined {
    const record = this.file.value.parameters[name];
    if (!record) return undefined;
    return {
      Name: name,
      Type: record.type,
      Value: record.value,
      Version: record.version,
      LastModifiedDate: new Date(record.lastModified),
      ARN: `arn:aws:ssm:${this.ctx.region}:${this.ctx.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`,
      DataType: 'text',
    };
  }
}
