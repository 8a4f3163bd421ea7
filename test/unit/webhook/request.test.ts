import { describe, expect, it } from 'vitest';
import { deliveryId, header, MAX_BODY_BYTES, rawBody, route } from '#shared/webhook/request.ts';

const http = (method: string, rawPath: string) =>
  ({ rawPath, requestContext: { http: { method } } }) as Parameters<typeof route>[0];

describe('route', () => {
  it.each([
    ['/webhooks/github', 'github'],
    ['/webhooks/gitlab', 'gitlab'],
    ['/webhooks/gitlab/', 'gitlab'],
    ['/prod/webhooks/github', 'github'],
  ])('routes POST %s to %s', (path, provider) => {
    expect(route(http('POST', path))).toEqual({ ok: true, provider });
  });

  it('answers 404 for other paths, whatever the method', () => {
    expect(route(http('POST', '/webhooks/bitbucket'))).toMatchObject({ ok: false, status: 404 });
    expect(route(http('GET', '/'))).toMatchObject({ ok: false, status: 404 });
    expect(route(http('POST', '/webhooks/github-app'))).toMatchObject({ ok: false, status: 404 });
  });

  it('answers 405 for other methods on a webhook path', () => {
    expect(route(http('GET', '/webhooks/github'))).toMatchObject({
      ok: false,
      status: 405,
      message: expect.stringMatching(/^GET is not allowed/),
    });
  });
});

describe('header', () => {
  it('finds a header whatever the case', () => {
    expect(header({ 'x-github-event': 'push' }, 'X-GitHub-Event')).toBe('push');
    expect(header({ 'X-GitHub-Event': 'push' }, 'x-github-event')).toBe('push');
    expect(header(undefined, 'x-github-event')).toBeUndefined();
    expect(header({}, 'x-github-event')).toBeUndefined();
  });
});

describe('rawBody', () => {
  it('decodes a base64 body to its exact bytes', () => {
    const bytes = Buffer.from([0, 255, 128, 10, 0xe2, 0x82, 0xac]);
    const body = rawBody({ body: bytes.toString('base64'), isBase64Encoded: true });
    expect(body).toEqual({ ok: true, bytes });
  });

  it('reads a plain body as UTF-8 and an absent body as empty', () => {
    expect(rawBody({ body: 'é', isBase64Encoded: false })).toEqual({
      ok: true,
      bytes: Buffer.from([0xc3, 0xa9]),
    });
    expect(rawBody({ isBase64Encoded: false })).toEqual({ ok: true, bytes: Buffer.alloc(0) });
  });

  it('refuses more than the limit by decoded size (base64 text is a third larger)', () => {
    const atLimit = Buffer.alloc(12).toString('base64');
    expect(rawBody({ body: atLimit, isBase64Encoded: true }, 12)).toMatchObject({ ok: true });
    expect(rawBody({ body: Buffer.alloc(13).toString('base64'), isBase64Encoded: true }, 12)).toMatchObject({
      ok: false,
      status: 413,
    });
    expect(rawBody({ body: 'x'.repeat(13), isBase64Encoded: false }, 12)).toMatchObject({
      ok: false,
      status: 413,
    });
    expect(MAX_BODY_BYTES).toBe(10 * 1024 * 1024);
  });
});

describe('deliveryId', () => {
  const body = Buffer.from('{}');

  it("takes GitHub's X-GitHub-Delivery", () => {
    expect(deliveryId('github', { 'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958' }, body)).toBe(
      '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
  });

  it("prefers GitLab's Idempotency-Key (kept across retries) to X-Gitlab-Event-UUID", () => {
    expect(deliveryId('gitlab', { 'x-gitlab-event-uuid': 'event-1' }, body)).toBe('event-1');
    expect(deliveryId('gitlab', { 'x-gitlab-event-uuid': 'event-1', 'idempotency-key': 'key-1' }, body)).toBe(
      'key-1',
    );
  });

  it('hashes an id that is too long or not printable ASCII, deterministically', () => {
    const long = 'x'.repeat(200);
    const id = deliveryId('github', { 'x-github-delivery': long }, body);
    expect(id).toMatch(/^sha256-[0-9a-f]{40}$/);
    expect(deliveryId('github', { 'x-github-delivery': long }, body)).toBe(id);
    expect(deliveryId('github', { 'x-github-delivery': 'a b' }, body)).toMatch(/^sha256-/);
  });

  it('falls back to a hash of the body, so a resent body maps to the same id', () => {
    const id = deliveryId('github', {}, body);
    expect(id).toMatch(/^body-sha256-[0-9a-f]{40}$/);
    expect(deliveryId('github', {}, Buffer.from('{}'))).toBe(id);
    expect(deliveryId('github', {}, Buffer.from('{ }'))).not.toBe(id);
  });
});
