// The coordinator's dashboard: its static files (served with a strict Content-Security-Policy,
// nothing loaded from elsewhere, no inline script or style), its data (/api/dashboard: subgraphs
// by state including failed ones, scoped to a requester off loopback), and the page itself in
// headless Chromium against a coordinator with two real provider processes running a small
// training graph: the graph reaches 'done', the subgraph counts, the providers with their
// measured capability, and the loss chart with one point per persisted batch loss, without a
// console error. A screenshot goes to test/ravenverse/__screenshots__/ (ignored by git).
// The browser part is skipped, with the reason printed, where /usr/bin/chromium is absent.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { graphJson, hashConstants } from '../../lib/graph/format.js';
import { type Coordinator, startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { NeuralNetwork } from '../../lib/v2/index.js';
import { Activation, Dense } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';
import { Child, FakeProvider, ROOT, api, backends, waitFor, within } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const DASHBOARD_DIR = join(ROOT, 'lib', 'ravenverse', 'coordinator', 'dashboard');
const SCREENSHOTS = join(ROOT, 'test', 'ravenverse', '__screenshots__');
const TRAIN_RE = /^training_loss_epoch_\d+_batch_\d+$/;

interface Recorded {
  doc: Record<string, unknown>;
  blobs: Map<string, Buffer>;
  /** The persisted batch-loss names, in order. */
  losses: string[];
}

/** A small training run (epochs x 3 batches, losses persisted) recorded as a graph. */
async function record(name: string, epochs: number): Promise<Recorded> {
  R.flush();
  new R.Graph({ name, algorithm: 'mlp', approach: 'distributed' });
  R.manual_seed(3);
  const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  m.add(new Dense(16, { input_shape: [6] }));
  m.add(new Activation('relu'));
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  const X = R.t(Array.from({ length: 48 }, (_, i) => Array.from({ length: 6 }, (_, j) => Math.sin(i * 7 + j))));
  const y = R.t(Array.from({ length: 48 }, (_, i) => i % 3), { dtype: 'int32' });
  await m.fit(X, y, { n_epochs: epochs, batch_size: 16, verbose: false });
  R.activate();
  const g = R.Graph.current()!.data;
  R.flush();
  const blobs = new Map<string, Buffer>();
  hashConstants(g, (n) => n.data!, (sha, bytes) => blobs.set(sha, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)));
  return { doc: graphJson(g), blobs, losses: [...g.persist.keys()].filter((k) => TRAIN_RE.test(k)) };
}

const gid = () => `g_${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;

async function upload(c: Coordinator, token: string, rec: Recorded, execute: boolean): Promise<string> {
  const id = gid();
  const put = await api(c.url, `/v1/graphs/${id}`, token, { method: 'PUT', body: rec.doc });
  expect(put.status).toBe(201);
  for (const sha of put.json.missing as string[]) expect((await api(c.url, `/v1/blobs/${sha}`, token, { method: 'PUT', raw: rec.blobs.get(sha)! })).status).toBe(201);
  if (execute) expect((await api(c.url, `/v1/graphs/${id}/execute`, token, { method: 'POST' })).status).toBe(200);
  return id;
}

describe('the dashboard page\'s files', () => {
  it('reference only files beside them: no inline script, style or event handler, nothing from elsewhere', () => {
    const files = readdirSync(DASHBOARD_DIR);
    expect(files.sort()).toEqual(['dashboard.css', 'dashboard.js', 'favicon.svg', 'index.html']);
    const html = readFileSync(join(DASHBOARD_DIR, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i); // every script is a file
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    const refs = [...html.matchAll(/\s(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(refs.filter((r) => !r.startsWith('/api/')).sort()).toEqual(['dashboard.css', 'dashboard.js', 'favicon.svg']);
    for (const f of files) expect(readFileSync(join(DASHBOARD_DIR, f), 'utf8')).not.toMatch(/\b(?:https?:)?\/\/(?!www\.w3\.org\/2000\/svg)[a-z0-9.-]+\.[a-z]{2,}/i);
    const js = readFileSync(join(DASHBOARD_DIR, 'dashboard.js'), 'utf8');
    expect(js).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\('style'/);
  });
});

describe.each(backends().map((b) => [b.name, b] as const))('the dashboard on %s', (_name, backend) => {
  let c: Coordinator;
  let drop: () => Promise<void>;
  let alice: string;
  let bob: string;
  let prov: string;
  let rec: Recorded;

  beforeAll(async () => {
    let spec: string;
    ({ spec, drop } = await backend.create());
    c = await startCoordinator({ db: spec, port: 0, log: null, leaseMs: 2000, heartbeatMs: 200, bytesPerSecond: 1e12, plan: 'per-step', maxFailures: 2 });
    alice = await createToken(c.db.db, 'requester', 'alice');
    bob = await createToken(c.db.db, 'requester', 'bob');
    prov = await createToken(c.db.db, 'provider', 'p');
    rec = await record('dash-api', 2);
  }, 60_000);

  afterAll(async () => {
    await c?.close();
    await drop?.();
  });

  it('serves the page, its script, style and icon with a strict Content-Security-Policy; nothing else', async () => {
    for (const [path, type] of [['/dashboard/', 'text/html'], ['/dashboard/index.html', 'text/html'], ['/dashboard/dashboard.js', 'text/javascript'], ['/dashboard/dashboard.css', 'text/css'], ['/dashboard/favicon.svg', 'image/svg+xml']] as const) {
      const r = await api(c.url, path, null);
      expect(`${path} ${r.status} ${r.headers.get('content-type')}`).toMatch(new RegExp(`^${path} 200 ${type.replace('+', '\\+')}`));
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
    const home = await fetch(`${c.url}/`, { redirect: 'manual' });
    expect(`${home.status} ${home.headers.get('location')}`).toBe('302 /dashboard/');
    for (const bad of ['/dashboard/server.ts', '/dashboard/..%2Fserver.ts', '/dashboard/%2E%2E%2Fstate.ts', '/dashboard/.hidden.js', '/dashboard/nothing.js']) {
      const r = await api(c.url, bad, null);
      expect(`${bad} ${r.status} ${r.json?.error?.code}`).toBe(`${bad} 404 ERR_NOT_FOUND`);
    }
  });

  it('/api/dashboard counts a subgraph that failed on too many providers as failed, not ready, and shows its graph failed', async () => {
    const id = await upload(c, alice, rec, true);
    const p1 = await new FakeProvider(c.url, prov).connect();
    const p2 = await new FakeProvider(c.url, prov).connect();
    try {
      // Each provider in turn reports the first subgraph failed (maxFailures is 2).
      for (const p of [p1, p2]) {
        const a = await p.next();
        expect(a.subgraph).toBe(0);
        p.send({ type: 'failed', lease: a.lease, error: { code: 'ERR_TEST', message: 'the test fails it' } });
        await waitFor('the failure to be recorded', async () => (await c.db.db.selectFrom('leases').select('state').where('id', '=', a.lease).executeTakeFirst())?.state === 'failed', 10_000);
      }
      const g = await waitFor('the graph to fail', async () => {
        const d = (await api(c.url, '/api/dashboard', null)).json;
        return d.graphs.find((x: { id: string; status: string }) => x.id === id && x.status === 'failed');
      }, 10_000);
      // The database's states, with the one subgraph that failed twice moved from ready to failed.
      const subs = await c.db.db.selectFrom('subgraphs').select(['state', 'failures']).where('graph_id', '=', id).execute();
      expect(subs.length).toBeGreaterThan(1);
      expect(subs.filter((s) => s.failures >= 2).length).toBe(1);
      const count = (k: string) => subs.filter((s) => s.state === k && s.failures < 2).length;
      expect(g.subgraphs).toEqual({ waiting: count('waiting'), ready: count('ready'), leased: count('leased'), done: count('done'), failed: 1 });
      expect(g.subgraphs.waiting).toBeGreaterThan(0);
      expect(g.error).toMatch(/subgraph 0 failed on 2 providers.*the test fails it/);
      expect(g.persisted_scalars).toEqual([]);
    } finally {
      p1.close();
      p2.close();
    }
  });

  it('off loopback: the page is public, its data needs a requester token and shows only that requester\'s graphs (providers shown to all)', async () => {
    const mine = await upload(c, bob, rec, false);
    const closed = await startCoordinator({ db: c.db, port: 0, log: null, dashboardPublic: false });
    try {
      expect((await api(closed.url, '/dashboard/', null)).status).toBe(200);
      const none = await api(closed.url, '/api/dashboard', null);
      expect(`${none.status} ${none.json.error.code}`).toBe('401 ERR_UNAUTHORIZED');
      expect((await api(closed.url, '/api/dashboard', 'rv_r_not-a-real-token')).status).toBe(401);
      expect((await api(closed.url, '/api/dashboard', prov)).json.error.code).toBe('ERR_FORBIDDEN');
      const b = (await api(closed.url, '/api/dashboard', bob)).json;
      expect(b.graphs.map((g: { id: string }) => g.id)).toEqual([mine]);
      expect(b.graphs[0].subgraphs).toEqual({ waiting: 0, ready: 0, leased: 0, done: 0, failed: 0 });
      expect(Array.isArray(b.providers)).toBe(true);
      expect((await api(closed.url, `/api/dashboard?token=${bob}`, null)).json.graphs.map((g: { id: string }) => g.id)).toEqual([mine]);
      const a = (await api(closed.url, '/api/dashboard', alice)).json;
      expect(a.graphs.some((g: { id: string }) => g.id === mine)).toBe(false);
      expect(a.graphs.length).toBeGreaterThan(0);
      // On loopback (public): everyone's.
      expect((await api(c.url, '/api/dashboard', null)).json.graphs.some((g: { id: string }) => g.id === mine)).toBe(true);
    } finally {
      await closed.close();
    }
  });
});

// ---------------------------------------------------------------------------------- the browser
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping the dashboard's browser test: ${CHROMIUM} is absent (Debian's chromium package; .ci/run installs it)`);

describe.runIf(haveChromium)('the dashboard in headless Chromium', () => {
  let c: Coordinator;
  let drop: () => Promise<void>;
  let requester: string;
  let other: string;
  let providers: Child[] = [];
  let userDir: string;
  // playwright-core's BrowserContext (imported only here, so machines without Chromium never load it).
  let browser: import('playwright-core').BrowserContext;
  const EPOCHS = 4;

  beforeAll(async () => {
    let spec: string;
    ({ spec, drop } = await backends()[0]!.create());
    c = await startCoordinator({ db: spec, port: 0, log: null, leaseMs: 5000, heartbeatMs: 500, bytesPerSecond: 1e12, plan: 'per-step' });
    requester = await createToken(c.db.db, 'requester', 'browser');
    other = await createToken(c.db.db, 'requester', 'other');
    const prov = await createToken(c.db.db, 'provider', 'providers');
    providers = ['provider-a', 'provider-b'].map((name) => new Child(['provider', '--server', c.url, '--threads', '1', '--name', name], { RAVDL_TOKEN: prov }, 170_000));
    const { chromium } = await import('playwright-core');
    userDir = mkdtempSync(join(tmpdir(), 'ravdl-chromium-'));
    // --headless and --user-data-dir come from headless: true and the profile folder.
    browser = await chromium.launchPersistentContext(userDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      viewport: { width: 1280, height: 1000 },
      timeout: 60_000,
    });
    await waitFor('two providers to connect', async () => (await api(c.url, '/v1/health', null)).json.providers === 2, 60_000);
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all(providers.map((p) => p.stop()));
    await c?.close();
    await drop?.();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  /** A new page that records console errors and uncaught exceptions. */
  async function open(url: string) {
    const page = await within('a new Chromium page', 20_000, browser.newPage());
    const errors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
    await page.goto(url, { timeout: 30_000 });
    return { page, errors };
  }

  it('shows a run live: the graph reaching done, its subgraph counts, the providers and their capability, a loss chart with one point per batch loss', async () => {
    const rec = await record('dash-browser', EPOCHS);
    expect(rec.losses.length).toBe(EPOCHS * 3);
    const { page, errors } = await open(`${c.url}/dashboard/`);
    try {
      const id = await upload(c, requester, rec, true);
      const row = page.locator(`#graphs tr[data-graph="${id}"]`);
      await row.locator('.state-done').waitFor({ timeout: 90_000 });

      // What the coordinator's database says, against what the page shows.
      const g = await c.db.db.selectFrom('graphs').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      expect(g.status).toBe('done');
      expect(g.subgraphs_total).toBeGreaterThan(1);
      await expect.poll(() => row.locator('[data-field="subgraphs"]').textContent(), { timeout: 5000 }).toBe(`${g.subgraphs_total} / ${g.subgraphs_total}`);
      expect(await row.locator('[data-field="persisted"]').textContent()).toBe(`${g.persisted_total} / ${g.persisted_total}`);
      expect(await row.locator('progress').getAttribute('value')).toBe(String(g.nodes_total));
      const states = page.locator(`#subgraphs tr[data-graph="${id}"]`);
      for (const [k, v] of Object.entries({ waiting: 0, ready: 0, leased: 0, done: g.subgraphs_total, failed: 0, total: g.subgraphs_total })) {
        expect(`${k} ${await states.locator(`[data-state="${k}"]`).textContent()}`).toBe(`${k} ${v}`);
      }

      const rows = await c.db.db.selectFrom('providers').selectAll().execute();
      expect(rows.map((r) => r.name).sort()).toEqual(['provider-a', 'provider-b']);
      for (const p of rows) {
        const tr = page.locator(`#providers tr[data-provider="${p.id}"]`);
        const cap = JSON.parse(p.capability) as { gflops: number; threads: number };
        expect(cap.gflops).toBeGreaterThan(0);
        expect(await tr.locator('th').textContent()).toContain(p.name);
        expect(await tr.locator('.state-connected').textContent()).toBe('connected');
        expect(await tr.locator('[data-field="gflops"]').textContent()).toBe(cap.gflops.toFixed(1));
        expect(await tr.locator('[data-field="threads"]').textContent()).toBe('1');
        expect(await tr.locator('[data-field="memory"]').textContent()).toMatch(/^\d+(\.\d)? (MiB|GiB)$/);
        await expect.poll(() => tr.locator('[data-field="done"]').textContent(), { timeout: 5000 }).toBe(String(p.subgraphs_done));
      }
      expect(rows.reduce((s, p) => s + p.subgraphs_done, 0)).toBe(g.subgraphs_total);

      // The chart: this graph, one point per persisted batch loss, the values in the table.
      expect(await page.locator('#loss-graph').inputValue()).toBe(id);
      const chart = page.locator('#loss-chart');
      await expect.poll(() => chart.getAttribute('data-points'), { timeout: 5000 }).toBe(String(rec.losses.length));
      expect(await chart.locator('circle.train-point').count()).toBe(rec.losses.length);
      expect((await chart.locator('polyline.train').getAttribute('points'))!.trim().split(/\s+/).length).toBe(rec.losses.length);
      const scalars = await c.db.db.selectFrom('persisted').select(['name', 'scalar']).where('graph_id', '=', id).orderBy('position').execute();
      const losses = scalars.filter((s) => TRAIN_RE.test(s.name));
      expect(losses.map((s) => s.name)).toEqual(rec.losses);
      const cells = await page.locator('#loss-table tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      expect(cells).toEqual(losses.map((s) => [s.name, ...s.name.match(/epoch_(\d+)_batch_(\d+)$/)!.slice(1), s.scalar!.toFixed(5)]));
      expect(await page.locator('#loss-desc').textContent()).toMatch(new RegExp(`^${rec.losses.length} batch losses of graph dash-browser \\(epochs 1 to ${EPOCHS}\\)`));
      expect(await page.locator('#status').textContent()).toMatch(/^Live: updated .*2 providers connected\.$/);

      // Accessible structure: headings, every table captioned.
      expect(await page.locator('h1').textContent()).toBe('ravdl coordinator');
      expect(await page.locator('h2').allTextContents()).toEqual(['Graphs', 'Providers', 'Training loss']);
      expect(await page.locator('table:not(:has(caption))').count()).toBe(0);

      mkdirSync(SCREENSHOTS, { recursive: true });
      const shot = join(SCREENSHOTS, 'dashboard.png');
      await page.locator('details').evaluate((d) => ((d as HTMLDetailsElement).open = false));
      await page.screenshot({ path: shot, fullPage: true });
      console.log(`dashboard screenshot: ${shot}`);
      expect(errors).toEqual([]);
    } finally {
      await page.close();
    }
  }, 150_000);

  it('off loopback asks for a requester token and then shows only that requester\'s graphs', async () => {
    const rec = await within('recording the graph', 10_000, record('dash-other', 1));
    const mine = await within('uploading the graph', 10_000, upload(c, other, rec, false));
    const closed = await within('a second coordinator on the same database', 10_000, startCoordinator({ db: c.db, port: 0, log: null, dashboardPublic: false }));
    const { page, errors } = await within('opening the dashboard', 35_000, open(`${closed.url}/dashboard/`));
    try {
      await page.locator('#token-form').waitFor({ state: 'visible', timeout: 10_000 });
      expect(await page.locator('#status').textContent()).toBe('This dashboard needs a requester token.');
      await page.locator('#token-input').fill(other);
      await page.locator('#token-form button').click();
      await page.locator(`#graphs tr[data-graph="${mine}"]`).waitFor({ timeout: 10_000 });
      expect(await page.locator('#token-form').isHidden()).toBe(true);
      expect(await page.locator('#graphs tbody tr').count()).toBe(1);
      expect(await page.locator('#loss-summary').textContent()).toBe('Graph dash-other has no persisted batch losses yet (names training_loss_epoch_E_batch_B).');
      // The one expected error: the browser's report of the first, tokenless request's 401.
      expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await within('closing the page', 10_000, page.close());
      await within('closing the second coordinator', 10_000, closed.close());
    }
  }, 90_000);
});
