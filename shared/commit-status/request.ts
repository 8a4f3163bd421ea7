/**
 * The HTTP request that sets a commit status, per provider (pure), and the small adapter that
 * sends it with `fetch`.
 *
 * - GitHub: `POST {api}/repos/{owner}/{repo}/statuses/{sha}` with `state` pending | success |
 *   failure | error, `target_url`, `description`, `context`. The API is `https://api.github.com`
 *   for github.com and `<origin>/api/v3` for any other host (GitHub Enterprise Server, the sandbox).
 * - GitLab: `POST {origin}/api/v4/projects/{url-encoded path}/statuses/{sha}` with `state`
 *   pending | running | success | failed | canceled, `name`, `description`, `target_url`.
 */
import type { CommitState, CommitStatusReport } from './status.ts';

export interface StatusRequest {
  readonly url: string;
  readonly method: 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** GitLab's words for the deploy's outcome: a started deploy is `running`, a stopped one `canceled`. */
const GITLAB_STATE: Record<CommitState, string> = {
  pending: 'running',
  success: 'success',
  failure: 'failed',
  error: 'canceled',
};

/** `owner/name` (GitHub) or `group/…/project` (GitLab) and the origin of a clone URL. */
export function repositoryPath(cloneUrl: string): { origin: string; path: string } {
  const url = new URL(cloneUrl);
  const path = url.pathname.replace(/^\/+|\/+$/g, '').replace(/\.git$/, '');
  if (!path.includes('/')) throw new Error(`cannot tell the owner and repository from ${url.origin}/${path}`);
  return { origin: url.origin, path };
}

/** The request that sets `report` on its commit, authenticated with `token`. */
export function statusRequest(report: CommitStatusReport, token: string): StatusRequest {
  const { origin, path } = repositoryPath(report.repositoryUrl);
  if (report.provider === 'gitlab') {
    return {
      url: `${origin}/api/v4/projects/${encodeURIComponent(path)}/statuses/${report.commit}`,
      method: 'POST',
      headers: { 'content-type': 'application/json', 'private-token': token },
      body: JSON.stringify({
        state: GITLAB_STATE[report.state],
        name: report.context,
        description: report.description,
        target_url: report.targetUrl,
      }),
    };
  }
  const host = new URL(origin).hostname.toLowerCase();
  const api =
    host === 'github.com' || host === 'www.github.com' ? 'https://api.github.com' : `${origin}/api/v3`;
  const [owner, ...rest] = path.split('/');
  return {
    url: `${api}/repos/${owner}/${rest.join('/')}/statuses/${report.commit}`,
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/vnd.github+json',
      authorization: `Bearer ${token}`,
      'x-github-api-version': '2022-11-28',
      'user-agent': 'stackpilot',
    },
    body: JSON.stringify({
      state: report.state,
      target_url: report.targetUrl,
      description: report.description,
      context: report.context,
    }),
  };
}

/** A status call the provider refused or that did not complete. The message never holds the token. */
export class StatusCallFailed extends Error {
  override readonly name = 'StatusCallFailed';
}

/**
 * Sends the request; resolves with the HTTP status on 2xx, throws {@link StatusCallFailed}
 * naming the status and the start of the provider's answer otherwise, or on a network error
 * or after `timeoutMs`.
 */
export async function sendStatusRequest(
  request: StatusRequest,
  fetchImpl: typeof fetch = fetch,
  timeoutMs = 5000,
): Promise<number> {
  let response: Response;
  try {
    response = await fetchImpl(request.url, {
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new StatusCallFailed(`POST ${request.url} did not complete: ${(error as Error).message}`);
  }
  if (response.ok) {
    await response.body?.cancel();
    return response.status;
  }
  const text = (await response.text().catch(() => '')).slice(0, 200);
  throw new StatusCallFailed(`POST ${request.url} answered ${response.status}: ${text}`);
}
