// A small CRUD REST API with no dependencies. Its items live in a file under DATA_DIR, not
// in the process: every task of a stage reads the same items, and a replaced task loses nothing.
//   GET /                  -> {"message": GREETING}
//   GET /health            -> 200 {"status":"ok"}, or 503 when a file BREAK_HEALTH is in the app
//   GET /work?ms=20        -> spends that much CPU time (at most 1000 ms) on the request
//   GET /items             -> every item
//   POST /items            -> create one from a JSON body {"name": "..."}
//   GET|PUT|DELETE /items/:id
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const GREETING = 'Hello from the starter app';

const port = Number(process.env.PORT ?? 8080);
const dataDir = process.env.DATA_DIR ?? join(process.cwd(), 'data');
const itemsFile = join(dataDir, 'items.json');
// Push a commit that adds this file to watch a release fail its health checks and roll back.
const breakHealth = existsSync(new URL('./BREAK_HEALTH', import.meta.url));

mkdirSync(dataDir, { recursive: true });

function readItems() {
  try {
    return JSON.parse(readFileSync(itemsFile, 'utf8'));
  } catch {
    return {};
  }
}

function writeItems(items) {
  // Written beside, then renamed: another task never reads half a file.
  const partial = `${itemsFile}.${process.pid}`;
  writeFileSync(partial, JSON.stringify(items));
  renameSync(partial, itemsFile);
}

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

async function readJson(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  try {
    const value = JSON.parse(text || '{}');
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the CPU busy for `ms` milliseconds: a request whose cost is known. */
function work(ms) {
  const until = process.cpuUsage().user / 1000 + ms;
  let x = 0;
  while (process.cpuUsage().user / 1000 < until) x += Math.sqrt(x + 1);
  return x;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [collection, id, extra] = url.pathname.split('/').filter(Boolean);

  if (url.pathname === '/' && req.method === 'GET') return send(res, 200, { message: GREETING });
  if (url.pathname === '/health' && req.method === 'GET') {
    return breakHealth ? send(res, 503, { status: 'broken on purpose' }) : send(res, 200, { status: 'ok' });
  }
  if (url.pathname === '/work' && req.method === 'GET') {
    const ms = Math.min(1000, Math.max(0, Number(url.searchParams.get('ms') ?? 20) || 0));
    work(ms);
    return send(res, 200, { ms, pid: process.pid });
  }
  if (collection !== 'items' || extra !== undefined) return send(res, 404, { message: 'not found' });

  const items = readItems();
  if (id === undefined) {
    if (req.method === 'GET') return send(res, 200, Object.values(items));
    if (req.method === 'POST') {
      const body = await readJson(req);
      if (!body || typeof body.name !== 'string') return send(res, 400, { message: 'name is required' });
      const item = { id: randomUUID(), name: body.name, createdAt: new Date().toISOString() };
      writeItems({ ...readItems(), [item.id]: item });
      return send(res, 201, item);
    }
    return send(res, 405, { message: 'method not allowed' });
  }

  const item = items[id];
  if (!item) return send(res, 404, { message: `no item ${id}` });
  if (req.method === 'GET') return send(res, 200, item);
  if (req.method === 'PUT') {
    const body = await readJson(req);
    if (!body || typeof body.name !== 'string') return send(res, 400, { message: 'name is required' });
    const updated = { ...item, name: body.name, updatedAt: new Date().toISOString() };
    writeItems({ ...readItems(), [id]: updated });
    return send(res, 200, updated);
  }
  if (req.method === 'DELETE') {
    const rest = readItems();
    delete rest[id];
    writeItems(rest);
    return send(res, 204);
  }
  return send(res, 405, { message: 'method not allowed' });
});

server.listen(port, () => console.log(`listening on port ${port}`));
// ECS stops tasks with SIGTERM: finish the requests in flight, then exit.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
