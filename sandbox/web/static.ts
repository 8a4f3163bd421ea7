/**
 * Serves the sandbox's page (`GET /` and `GET /ui/<file>`): the files of this folder, as they
 * are (no build step), and only the ones listed here. The Content-Security-Policy lets the
 * page load nothing but its own files and talk to nothing but the sandbox.
 */
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'view.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'icon.svg': 'image/svg+xml',
};

export const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
} as const;

/** The page's file for a request path, or undefined when the path is not one of the page's. */
export function pageFile(path: string): string | undefined {
  if (path === '/' || path === '/index.html') return 'index.html';
  const match = path.match(/^\/ui\/([^/]+)$/);
  const name = match?.[1];
  return name !== undefined && name !== 'index.html' && Object.hasOwn(FILES, name) ? name : undefined;
}

/** Answers with the page's file `name` (one of `pageFile`'s answers). */
export async function sendPageFile(res: ServerResponse, name: string, method: string): Promise<void> {
  const type = FILES[name];
  if (type === undefined) throw new Error(`the page has no file ${name}`);
  const body = await readFile(new URL(name, import.meta.url));
  res.writeHead(200, { 'content-type': type, 'content-length': body.length, ...PAGE_HEADERS });
  res.end(method === 'HEAD' ? undefined : body);
}
