/**
 * The sandbox's live page: polls the sandbox's JSON API and renders it with DOM APIs only
 * (every text goes through textContent or an attribute, never through HTML parsing).
 */
import {
  alarmsInAlarm,
  chartLines,
  currentState,
  executionsToShow,
  executionTarget,
  instanceCounts,
  runningCommit,
  safeHttpUrl,
  shortCommit,
} from './view.js';

const POLL_MS = 1500;
const SVG = 'http://www.w3.org/2000/svg';
const CHART = { width: 400, height: 100 };

/** An element with attributes and children (strings become text nodes). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  node.append(...children.filter((c) => c !== undefined && c !== null).map(textOrNode));
  return node;
}

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children.map(textOrNode));
  return node;
}

function textOrNode(child) {
  return child instanceof Node ? child : document.createTextNode(String(child));
}

async function getJson(path) {
  const response = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store' });
  if (!response.ok) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

function stageRow(stage) {
  const name = `${stage.app}/${stage.stage}`;
  const href = safeHttpUrl(stage.url);
  const commit = runningCommit(stage);
  const instances = instanceCounts(stage);
  const alarms = alarmsInAlarm(stage);
  const release = stage.lastRelease;
  return el(
    'tr',
    { 'data-stage': name },
    el('th', { scope: 'row' }, name),
    el('td', { class: 'url' }, href ? el('a', { href, target: '_blank', rel: 'noopener' }, href) : '—'),
    el('td', { class: 'revision' }, stage.taskDefinition?.revision ?? '—'),
    el(
      'td',
      { class: 'commit', title: commit ?? stage.taskDefinition?.image ?? '' },
      commit ? el('code', {}, shortCommit(commit)) : '—',
    ),
    el(
      'td',
      { class: 'tasks' },
      `${stage.runningCount ?? 0}/${stage.desiredCount ?? 0}`,
      stage.pendingCount ? ` (${stage.pendingCount} pending)` : '',
    ),
    el(
      'td',
      { class: 'instances' },
      `${instances.inService}`,
      instances.desired === undefined ? '' : ` (desired ${instances.desired})`,
    ),
    el(
      'td',
      { class: alarms.length > 0 ? 'alarms in-alarm' : 'alarms' },
      alarms.length > 0 ? alarms.join(', ') : 'none',
    ),
    el(
      'td',
      { class: 'release' },
      release
        ? el(
            'span',
            { class: `status ${String(release.status).toLowerCase()}`, title: release.error ?? '' },
            release.status,
            release.commit ? ` ${shortCommit(release.commit)}` : '',
          )
        : '—',
    ),
  );
}

function executionRow(execution) {
  const status = String(execution.status);
  return el(
    'tr',
    { 'data-execution': execution.name, class: status === 'RUNNING' ? 'running' : undefined },
    el('td', {}, execution.stateMachine),
    el('td', { class: 'name' }, el('code', {}, execution.name)),
    el('td', {}, executionTarget(execution)),
    el(
      'td',
      { class: `status ${status.toLowerCase()}`, title: execution.error ?? '' },
      status,
      execution.error ? ` (${execution.error})` : '',
    ),
    el('td', { class: 'state' }, currentState(execution)),
    el('td', {}, time(execution.startDate)),
  );
}

function time(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString();
}

function chart(entry, history) {
  const { max, lines } = chartLines(entry.samples, {
    now: history.now,
    windowMs: history.windowMs,
    width: CHART.width,
    height: CHART.height,
  });
  const name = `${entry.app}/${entry.stage}`;
  const graphic = svg(
    'svg',
    {
      viewBox: `-24 -8 ${CHART.width + 32} ${CHART.height + 30}`,
      role: 'img',
      'aria-label': `${name}: tasks and instances over the last hour`,
      class: 'chart',
    },
    svg('line', { class: 'axis', x1: 0, y1: CHART.height, x2: CHART.width, y2: CHART.height }),
    svg('line', { class: 'axis', x1: 0, y1: 0, x2: 0, y2: CHART.height }),
    svg('text', { class: 'tick', x: -6, y: 4, 'text-anchor': 'end' }, max),
    svg('text', { class: 'tick', x: -6, y: CHART.height + 4, 'text-anchor': 'end' }, 0),
    svg('text', { class: 'tick', x: 0, y: CHART.height + 16 }, '-60 min'),
    svg(
      'text',
      { class: 'tick', x: CHART.width / 2, y: CHART.height + 16, 'text-anchor': 'middle' },
      '-30 min',
    ),
    svg('text', { class: 'tick', x: CHART.width, y: CHART.height + 16, 'text-anchor': 'end' }, 'now'),
    ...lines.map((line) => svg('polyline', { class: `series ${line.key}`, points: line.points })),
  );
  const legend = el(
    'ul',
    { class: 'legend' },
    ...lines.map((line) =>
      el('li', { class: line.key }, `${line.label}: ${line.last === undefined ? '—' : line.last}`),
    ),
  );
  return el('figure', { 'data-chart': name }, graphic, el('figcaption', {}, name, legend));
}

/** What a row or chart shows: its stage, execution or chart name. */
function keyOf(node) {
  return node.dataset.stage ?? node.dataset.execution ?? node.dataset.chart;
}

/**
 * Makes `container`'s children the `nodes`, in order, keeping in place each child whose key
 * and content did not change: a value that did not change keeps its DOM (a text selection, a
 * focused link), and a new execution on top moves nothing else.
 */
function reconcile(container, nodes) {
  const existing = new Map();
  for (const child of container.children) {
    const key = keyOf(child);
    if (key !== undefined) existing.set(key, child);
  }
  const wanted = nodes.map((node) => {
    const kept = existing.get(keyOf(node));
    return kept?.isEqualNode(node) ? kept : node;
  });
  wanted.forEach((node, i) => {
    if (container.children[i] !== node) container.insertBefore(node, container.children[i] ?? null);
  });
  while (container.children.length > wanted.length) container.lastElementChild.remove();
}

function replaceRows(table, rows, empty) {
  const body = document.querySelector(`${table} tbody`);
  const columns = document.querySelectorAll(`${table} thead th`).length;
  reconcile(body, rows.length > 0 ? rows : [el('tr', {}, el('td', { colspan: columns }, empty))]);
}

async function refresh() {
  const status = document.getElementById('status');
  try {
    const [stages, executions, history] = await Promise.all([
      getJson('/stages'),
      getJson('/executions?limit=100'),
      getJson('/history'),
    ]);
    replaceRows('#stages', (stages.stages ?? []).map(stageRow), 'no stages in stackpilot.yml');
    replaceRows(
      '#executions',
      executionsToShow(executions.executions).map(executionRow),
      'no executions yet: push a commit',
    );
    reconcile(
      document.getElementById('charts'),
      (history.stages ?? []).map((entry) => chart(entry, history)),
    );
    status.textContent = `updated ${new Date().toLocaleTimeString()}`;
    status.className = 'ok';
  } catch (error) {
    status.textContent = `the sandbox does not answer (${error.message}); retrying`;
    status.className = 'error';
  }
}

async function loop() {
  await refresh();
  setTimeout(loop, POLL_MS);
}

loop();
