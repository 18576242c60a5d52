// The coordinator's dashboard: polls GET /api/dashboard every second and renders graphs,
// subgraphs by state, providers and a chart of the persisted batch losses (an SVG drawn here).
// Plain browser JavaScript, no dependencies; text goes in through textContent only.
'use strict';

const POLL_MS = 1000;
const TOKEN_KEY = 'ravdl-dashboard-token';
const SVG_NS = 'http://www.w3.org/2000/svg';
const TRAIN_RE = /^training_loss_epoch_(\d+)_batch_(\d+)$/;
const VAL_RE = /^validation_loss_epoch_(\d+)$/;

let token = sessionStorage.getItem(TOKEN_KEY);
let chosenGraph = null; // the loss chart's graph, once the user picks one
let chartKey = ''; // what the chart shows now, to redraw only on change

// A token in the address's fragment (#token=...) is taken once and removed from the address.
const fromHash = /(?:^#|&)token=([^&]+)/.exec(location.hash);
if (fromHash) {
  token = decodeURIComponent(fromHash[1]);
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', location.pathname + location.search);
}

// ------------------------------------------------------------------ DOM helpers
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children) if (c !== undefined && c !== null) e.append(c instanceof Node ? c : String(c));
  return e;
}
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}
const num = (v, attrs) => el('td', { class: 'num', ...attrs }, v);
function fillBody(table, rows, columns, emptyText) {
  const body = document.querySelector(`#${table} tbody`);
  body.replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: columns, class: 'empty' }, emptyText))]));
}

// ------------------------------------------------------------------ formatting
function bytes(n) {
  if (!Number.isFinite(n)) return '?';
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(0)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}
function flops(n) {
  if (!(n > 0)) return '0';
  const units = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  const [scale, unit] = units.find(([s]) => n >= s) || [1, ''];
  return `${(n / scale).toFixed(n / scale >= 100 ? 0 : 1)} ${unit}FLOP`;
}
function ago(ms) {
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}
function seconds(ms) {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`;
}
function loss(v) {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(5);
}
const pct = (a, b) => (b > 0 ? (100 * a) / b : 0);

/** The graph's batch losses (in recorded order) and validation losses (at their epoch's last batch). */
function lossSeries(g) {
  const train = [];
  const val = [];
  for (const s of g.persisted_scalars || []) {
    const t = TRAIN_RE.exec(s.name);
    if (t) train.push({ name: s.name, epoch: Number(t[1]), batch: Number(t[2]), value: s.value });
    const v = VAL_RE.exec(s.name);
    if (v) val.push({ name: s.name, epoch: Number(v[1]), value: s.value });
  }
  for (const v of val) {
    let x = 0;
    train.forEach((t, i) => t.epoch === v.epoch && (x = i + 1));
    v.x = x;
  }
  return { train, val: val.filter((v) => v.x > 0) };
}

// ------------------------------------------------------------------ tables
function renderGraphs(d) {
  const graphs = d.graphs || [];
  fillBody('graphs', graphs.map((g) => {
    const p = pct(g.nodes_done, g.nodes_total);
    const { train } = lossSeries(g);
    const last = train.length ? train[train.length - 1] : null;
    const status = el('td', {}, el('span', { class: `state-${g.status}` }, g.status));
    if (g.error) status.append(el('span', { class: 'err' }, g.error));
    return el('tr', { 'data-graph': g.id },
      el('th', { scope: 'row' }, g.name || '(unnamed)', el('span', { class: 'id' }, g.id)),
      status,
      // A federated graph's progress counts its providers' contributions (it has no subgraphs).
      el('td', { class: 'bar' }, el('progress', { max: g.nodes_total || 1, value: g.nodes_done, 'aria-label': `${g.name}: ${p.toFixed(0)}% of ${g.approach === 'federated' ? 'the contributions received' : 'the op nodes computed'}` }), `${p.toFixed(0)}%`),
      num(g.approach === 'federated' ? `${g.subgraphs_done} / ${g.subgraphs_total} contributions` : `${g.subgraphs_done} / ${g.subgraphs_total}`, { 'data-field': 'subgraphs' }),
      num(`${g.persisted_done} / ${g.persisted_total}`, { 'data-field': 'persisted' }),
      num(last ? loss(last.value) : '', { title: last ? last.name : '' }),
      el('td', {}, ago(d.now - g.updated_at)));
  }), 7, 'No graphs yet: a requester uploads one with R.activate() and runs it with R.execute().');

  fillBody('subgraphs', graphs.map((g) => {
    const s = g.subgraphs;
    const total = s.waiting + s.ready + s.leased + s.done + s.failed;
    return el('tr', { 'data-graph': g.id },
      el('th', { scope: 'row' }, g.name || '(unnamed)', el('span', { class: 'id' }, g.id)),
      ...['waiting', 'ready', 'leased', 'done', 'failed'].map((k) => num(s[k], { 'data-state': k })),
      num(total, { 'data-state': 'total' }));
  }), 7, 'No graphs yet.');
}

function renderProviders(d) {
  fillBody('providers', (d.providers || []).map((p) => {
    const c = p.capability || {};
    const conn = p.connected ? el('span', { class: 'state-connected' }, 'connected') : el('span', { class: 'state-disconnected' }, `disconnected, last seen ${ago(d.now - p.last_seen)}`);
    return el('tr', { 'data-provider': p.id },
      el('th', { scope: 'row' }, p.name, el('span', { class: 'id' }, p.id)),
      el('td', {}, conn),
      num(Number.isFinite(c.gflops) ? c.gflops.toFixed(1) : '?', { 'data-field': 'gflops' }),
      num(bytes(c.memory_bytes), { 'data-field': 'memory' }),
      num(c.threads ?? '?', { 'data-field': 'threads' }),
      num(c.slots ?? '?'),
      num(p.leases, { 'data-field': 'leases' }),
      // Results that lost a vote of a replicated run (verification by replication) are shown beside the work done.
      num(p.disputed ? `${p.subgraphs_done} (${p.disputed} disputed)` : p.subgraphs_done, { 'data-field': 'done' }),
      num(flops(p.flops_done), { 'data-field': 'flops' }),
      num(seconds(p.busy_ms)));
  }), 10, 'No provider has connected yet: start one with npx ravdl provider --server URL --token TOKEN.');
}

// ------------------------------------------------------------------ the loss chart
/** Round steps (1, 2, 5 times a power of ten) covering [lo, hi] with about `n` ticks. */
function ticks(lo, hi, n) {
  if (!(hi > lo)) return { lo: lo - 1, hi: hi + 1, step: 1 };
  const raw = (hi - lo) / n;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  return { lo: Math.floor(lo / step) * step, hi: Math.ceil(hi / step) * step, step };
}

function renderChart(g) {
  const chart = document.getElementById('loss-chart');
  const { train, val } = g ? lossSeries(g) : { train: [], val: [] };
  const key = g ? `${g.id}|${train.length}|${val.length}|${g.status}` : '';
  if (key === chartKey) return;
  chartKey = key;
  const W = 720, H = 320, L = 64, R = 16, T = 16, B = 52;
  const title = document.getElementById('loss-title');
  const desc = document.getElementById('loss-desc');
  chart.replaceChildren(title, desc);
  chart.setAttribute('data-points', String(train.length));
  title.textContent = g ? `Batch losses of graph ${g.name}` : 'Persisted batch losses';

  const finite = [...train, ...val].filter((p) => Number.isFinite(p.value));
  const summary = document.getElementById('loss-summary');
  if (!finite.length) {
    const why = g ? `Graph ${g.name} has no persisted batch losses yet (names training_loss_epoch_E_batch_B).` : 'No graphs yet.';
    desc.textContent = why;
    summary.textContent = why;
    chart.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle', class: 'empty' }, why.length > 90 ? 'No batch losses yet.' : why));
    renderLossTable([]);
    return;
  }
  const values = finite.map((p) => p.value);
  const y = ticks(Math.min(...values), Math.max(...values), 5);
  const n = Math.max(train.length, 2);
  const px = (i) => L + ((i - 1) / (n - 1)) * (W - L - R);
  const py = (v) => T + (1 - (v - y.lo) / (y.hi - y.lo)) * (H - T - B);

  // Grid and the y axis's ticks.
  for (let v = y.lo, k = 0; v <= y.hi + y.step / 2 && k < 50; v += y.step, k++) {
    chart.append(svg('line', { x1: L, x2: W - R, y1: py(v), y2: py(v), class: 'grid' }));
    chart.append(svg('text', { x: L - 6, y: py(v) + 4, 'text-anchor': 'end', class: 'tick' }, Number(v.toPrecision(6)).toString()));
  }
  // Epoch boundaries, labelled at most every few epochs.
  const starts = [];
  train.forEach((t, i) => (i === 0 || train[i - 1].epoch !== t.epoch) && starts.push({ epoch: t.epoch, x: i + 1 }));
  const every = Math.max(1, Math.ceil(starts.length / 12));
  starts.forEach((s, k) => {
    if (k % every !== 0) return;
    if (train.length > 1) chart.append(svg('line', { x1: px(s.x), x2: px(s.x), y1: T, y2: H - B, class: 'epoch' }));
    chart.append(svg('text', { x: px(s.x), y: H - B + 16, 'text-anchor': 'middle', class: 'tick' }, String(s.epoch)));
  });
  chart.append(svg('line', { x1: L, x2: L, y1: T, y2: H - B, class: 'axis' }));
  chart.append(svg('line', { x1: L, x2: W - R, y1: H - B, y2: H - B, class: 'axis' }));
  chart.append(svg('text', { x: (L + W - R) / 2, y: H - 10, 'text-anchor': 'middle', class: 'label' }, 'epoch (one point per batch, in order)'));
  chart.append(svg('text', { x: 14, y: (T + H - B) / 2, 'text-anchor': 'middle', transform: `rotate(-90 14 ${(T + H - B) / 2})`, class: 'label' }, 'loss'));

  // The series: a line and, while few enough to see, a point with a tooltip for each value.
  const line = (pts, cls) => svg('polyline', { class: cls, points: pts.map((p) => `${px(p.x).toFixed(1)},${py(p.value).toFixed(1)}`).join(' ') });
  const trainPts = train.map((t, i) => ({ ...t, x: i + 1 })).filter((p) => Number.isFinite(p.value));
  chart.append(line(trainPts, 'train'));
  if (val.length) chart.append(line(val.filter((p) => Number.isFinite(p.value)), 'val'));
  if (trainPts.length <= 1000) {
    for (const p of trainPts) {
      const c = svg('circle', { cx: px(p.x).toFixed(1), cy: py(p.value).toFixed(1), r: 2.2, class: 'train-point' });
      c.append(svg('title', {}, `epoch ${p.epoch}, batch ${p.batch}: ${loss(p.value)}`));
      chart.append(c);
    }
  }
  for (const p of val.filter((v) => Number.isFinite(v.value))) {
    const c = svg('circle', { cx: px(p.x).toFixed(1), cy: py(p.value).toFixed(1), r: 3.5, class: 'val-point' });
    c.append(svg('title', {}, `validation, epoch ${p.epoch}: ${loss(p.value)}`));
    chart.append(c);
  }
  if (val.length) {
    chart.append(svg('line', { x1: W - R - 190, x2: W - R - 170, y1: T + 10, y2: T + 10, class: 'train' }));
    chart.append(svg('text', { x: W - R - 165, y: T + 14, class: 'tick' }, 'batch loss'));
    chart.append(svg('line', { x1: W - R - 95, x2: W - R - 75, y1: T + 10, y2: T + 10, class: 'val' }));
    chart.append(svg('text', { x: W - R - 70, y: T + 14, class: 'tick' }, 'validation'));
  }

  // The text alternative: what the chart shows, in words and as a table.
  const tv = trainPts.map((p) => p.value);
  const epochs = starts.length ? `epochs ${starts[0].epoch} to ${starts[starts.length - 1].epoch}` : '';
  const words = trainPts.length
    ? `${trainPts.length} batch losses of graph ${g.name} (${epochs}${g.status === 'running' ? ', still running' : ''}): first ${loss(tv[0])}, last ${loss(tv[tv.length - 1])}, lowest ${loss(Math.min(...tv))}, highest ${loss(Math.max(...tv))}.`
    : `No batch losses of graph ${g.name} yet.`;
  const vWords = val.length ? ` ${val.length} validation losses, last ${loss(val[val.length - 1].value)}.` : '';
  desc.textContent = words + vWords;
  summary.textContent = words + vWords;
  renderLossTable([...train, ...val.map((v) => ({ ...v, batch: '(validation)' }))]);
}

function renderLossTable(rows) {
  fillBody('loss-table', rows.map((r) => el('tr', {}, el('td', {}, r.name), num(r.epoch), num(r.batch), num(loss(r.value)))), 4, 'No losses yet.');
}

function renderLossPicker(graphs) {
  const select = document.getElementById('loss-graph');
  const withLosses = graphs.filter((g) => lossSeries(g).train.length);
  const options = withLosses.length ? withLosses : graphs;
  if (!options.some((g) => g.id === chosenGraph)) chosenGraph = null;
  const shown = chosenGraph ?? options[0]?.id ?? '';
  const want = options.map((g) => `${g.id}:${g.name}`).join('|');
  if (select.dataset.options !== want) {
    select.dataset.options = want;
    select.replaceChildren(...options.map((g) => el('option', { value: g.id }, `${g.name} (${g.id})`)));
  }
  select.value = shown;
  select.disabled = options.length === 0;
  return graphs.find((g) => g.id === shown) || null;
}

// ------------------------------------------------------------------ polling
function setStatus(text, offline) {
  const s = document.getElementById('status');
  s.textContent = text;
  s.classList.toggle('offline', !!offline);
}

function render(d) {
  renderGraphs(d);
  renderProviders(d);
  renderChart(renderLossPicker(d.graphs || []));
  const up = (d.providers || []).filter((p) => p.connected).length;
  const running = (d.graphs || []).filter((g) => g.status === 'running').length;
  setStatus(`Live: updated ${new Date(d.now).toLocaleTimeString()}; ${running} graph${running === 1 ? '' : 's'} running, ${up} provider${up === 1 ? '' : 's'} connected.`);
}

let last = null; // the latest answer
let timer = null;
let inFlight = false;

async function poll() {
  if (inFlight) return;
  inFlight = true;
  clearTimeout(timer);
  let again = true;
  try {
    const res = await fetch('/api/dashboard', { headers: token ? { authorization: `Bearer ${token}` } : {}, cache: 'no-store', signal: AbortSignal.timeout(10_000) });
    if (res.status === 401 || res.status === 403) {
      const body = await res.json().catch(() => null);
      document.getElementById('token-form').hidden = false;
      setStatus(token ? `The token was refused: ${body?.error?.message ?? res.status}` : 'This dashboard needs a requester token.', true);
      again = false; // until the form is sent
    } else if (!res.ok) {
      throw new Error(`HTTP ${res.status}`);
    } else {
      document.getElementById('token-form').hidden = true;
      last = await res.json();
      render(last);
    }
  } catch (err) {
    setStatus(`The coordinator does not answer (${err.message}); retrying.`, true);
  } finally {
    inFlight = false;
    if (again) timer = setTimeout(poll, POLL_MS);
  }
}

document.getElementById('loss-graph').addEventListener('change', (e) => {
  chosenGraph = e.target.value;
  if (last) render(last);
});

document.getElementById('token-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = document.getElementById('token-input');
  token = input.value.trim();
  input.value = '';
  sessionStorage.setItem(TOKEN_KEY, token);
  poll();
});

poll();
