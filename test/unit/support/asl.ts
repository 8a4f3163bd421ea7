/** asl-validator (it ships no type declarations), typed as the path tests call it. */
import { createRequire } from 'node:module';

type AslValidator = (
  definition: unknown,
  options: { checkArn: boolean; checkPaths: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

export const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;
