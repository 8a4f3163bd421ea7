/**
 * The sandbox git server's commit status API, with GitHub's shapes (REST API "Commit
 * statuses"): `POST /api/v3/repos/{owner}/{repo}/statuses/{sha}` creates a status and answers
 * 201 with the status object; `GET /api/v3/repos/{owner}/{repo}/commits/{ref}/statuses` lists
 * them, newest first. The API root is `/api/v3`, GitHub Enterprise Server's, which is where
 * the deploy's reporter sends a repository that is not on github.com. Statuses are kept in a
 * JSON file of the data folder.
 *
 * As on GitHub: no `Authorization` is 401; a `state` other than error | failure | pending |
 * success is 422; a description is cut to 140 characters; `context` defaults to `default`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';

export const STATUS_STATES = ['error', 'failure', 'pending', 'success'] as const;

/** A commit status as GitHub's API returns it (the fields a client reads). */
export interface CommitStatus {
  url: string;
  id: number;
  state: (typeof STATUS_STATES)[number];
  description: string | null;
  target_url: string | null;
  context: string;
  created_at: string;
  updated_at: string;
  /** Not GitHub's: which repository and commit, for the sandbox's own views. */
  repository: string;
  sha: string;
}

const CREATE = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40,64})$/;
const LIST = /^\/api\/v3\/repos\/([^/]+)\/([^/]+)\/commits\/([^/]+)\/statuses$/;

export class CommitStatusStore {
  private readonly file: string;
  private statuses: CommitStatus[];

  constructor(dataDir: string) {
    this.file = join(dataDir, 'commit-statuses.json');
    this.statuses = existsSync(this.file)
      ? (JSON.parse(readFileSync(this.file, 'utf8')) as CommitStatus[])
      : [];
  }

  /** Every status, newest first. */
  all(): CommitStatus[] {
    return [...this.statuses].reverse();
  }

  /** The newest status of a context (`stackpilot/<app>/<stage>`), on any commit. */
  latest(context: string): CommitStatus | undefined {
    return this.all().find((s) => s.context === context);
  }

  /** Answers the API's requests; false when the path is not the API's. */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    origin: string,
    now: Date,
  ): Promise<boolean> {
    const create = CREATE.exec(path);
    const list = LIST.exec(path);
    if (!create && !list) return false;
    const send = (status: number, body: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
    if (!req.headers.authorization) {
      await buffer(req);
      send(401, { message: 'Requires authentication', documentation_url: 'https://docs.github.com/rest' });
      return true;
    }
    const [, owner, repo, shaOrRef] = (create ?? list) as RegExpExecArray;
    const repository = `${owner}/${repo}`;
    if (list && req.method === 'GET') {
      send(
        200,
        this.all().filter((s) => s.repository === repository && s.sha === shaOrRef),
      );
      return true;
    }
    if (!create || req.method !== 'POST') {
      send(404, { message: 'Not Found' });
      return true;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse((await buffer(req)).toString('utf8')) as Record<string, unknown>;
    } catch {
      send(400, { message: 'Problems parsing JSON' });
      return true;
    }
    const state = body.state;
    if (typeof state !== 'string' || !(STATUS_STATES as readonly string[]).includes(state)) {
      send(422, {
        message: 'Validation Failed',
        errors: [
          {
            resource: 'Status',
            field: 'state',
            code: 'custom',
            message: `state must be one of ${STATUS_STATES.join(', ')}`,
          },
        ],
      });
      return true;
    }
    const id = this.statuses.length + 1;
    const at = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const status: CommitStatus = {
      url: `${origin}/api/v3/repos/${repository}/statuses/${shaOrRef}`,
      id,
      state: state as CommitStatus['state'],
      description: typeof body.description === 'string' ? body.description.slice(0, 140) : null,
      target_url: typeof body.target_url === 'string' ? body.target_url : null,
      context: typeof body.context === 'string' && body.context ? body.context : 'default',
      created_at: at,
      updated_at: at,
      repository,
      sha: shaOrRef as string,
    };
    this.statuses.push(status);
    writeFileSync(this.file, `${JSON.stringify(this.statuses, null, 1)}\n`);
    send(201, status);
    return true;
  }
}
