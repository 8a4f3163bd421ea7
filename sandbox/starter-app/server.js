// A small CRUD REST API with no dependencies: items kept in memory.
//   GET /health            -> 200 {"status":"ok"}
//   GET /items             -> every item
//   POST /items            -> create one from a JSON body {"name": "..."}
//   GET|PUT|DELETE /items/:id
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const items = new Map();

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

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const [collection, id, extra] = url.pathname.split('/').filter(Boolean);

  if (url.pathname === '/health' && req.method === 'GET') return send(res, 200, { status: 'ok' });
  if (collection !== 'items' || extra !== undefined) return send(res, 404, { message: 'not found' });

  if (id === undefined) {
    if (req.method === 'GET') return send(res, 200, [...items.values()]);
    if (req.method === 'POST') {
      const body = await readJson(req);
      if (!body || typeof body.name !== 'string') return send(res, 400, { message: 'name is required' });
      const item = { id: randomUUID(), name: body.name, createdAt: new Date().toISOString() };
      items.set(item.id, item);
      return send(res, 201, item);
    }
    return send(res, 405, { message: 'method not allowed' });
  }

  const item = items.get(id);
  if (!item) return send(res, 404, { message: `no item ${id}` });
  if (req.method === 'GET') return send(res, 200, item);
  if (req.method === 'PUT') {
    const body = await readJson(req);
    if (!body || typeof body.name !== 'string') return send(res, 400, { message: 'name is required' });
    const updated = { ...item, name: body.name, updatedAt: new Date().toISOString() };
    items.set(id, updated);
    return send(res, 200, updated);
  }
  if (req.method === 'DELETE') {
    items.delete(id);
    return send(res, 204);
  }
  return send(res, 405, { message: 'method not allowed' });
});

server.listen(port, () => console.log(`listening on port ${port}`));
// ECS stops tasks with SIGTERM: finish the requests in flight, then exit.
process.on('SIGTERM', () => server.close(() => process.exit(0)));
