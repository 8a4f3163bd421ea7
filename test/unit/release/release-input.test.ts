import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { actionOf, isAppImage, releaseInputSchema, releaseInputSchemaFor } from '#events/release.ts';

const sample = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../../events/samples/${name}`, import.meta.url), 'utf8'));

describe('release input', () => {
  it.each([
    ['release-input.json', 'release'],
    ['release-redeploy.json', 'redeploy'],
    ['release-rollback.json', 'rollback'],
    ['release-promote.json', 'promote'],
  ])('parses the console sample %s as a %s', (file, action) => {
    const input = releaseInputSchema.parse(sample(file));
    expect(actionOf(input)).toBe(action);
    expect(releaseInputSchemaFor(sample(file)).safeParse(sample(file)).success).toBe(true);
  });

  it('takes a named revision in a rollback and refuses unknown fields', () => {
    expect(
      releaseInputSchema.parse({ app: 'starter', stage: 'dev', action: 'rollback', toRevision: 7 }),
    ).toMatchObject({
      toRevision: 7,
    });
    expect(releaseInputSchema.safeParse({ ...sample('release-input.json'), force: true }).success).toBe(
      false,
    );
  });

  it("accepts only images of the app's ECR repository, by tag or digest", () => {
    const registry = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    expect(isAppImage('web', `${registry}/stackpilot/web:1.2.3`)).toBe(true);
    expect(isAppImage('web', `${registry}/stackpilot/web@sha256:${'0'.repeat(64)}`)).toBe(true);
    expect(isAppImage('web', `${registry}/stackpilot/web`)).toBe(true);
    expect(isAppImage('web', 'localhost:5000/stackpilot/web:abc')).toBe(true);
    expect(isAppImage('web', `${registry}/stackpilot/web-api:1`)).toBe(false);
    expect(isAppImage('web', `${registry}/stackpilot/webx:1`)).toBe(false);
    expect(isAppImage('web', 'stackpilot/web:1')).toBe(false);
    expect(isAppImage('web', `${registry}/acme/stackpilot/web:1`)).toBe(false);
    // A pull request's image (the app's preview repository) is never released to a stage.
    expect(isAppImage('web', `${registry}/stackpilot/web/previews:1`)).toBe(false);
  });
});

describe('release input, hostile', () => {
  it('refuses a huge app name with a short message', () => {
    const result = releaseInputSchema.safeParse({
      app: 'x'.repeat(130_000),
      stage: 'dev',
      image: 'r/stackpilot/x:1',
    });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues).length).toBeLessThan(2000);
  });
});
