// A provider that computes on a CUDA device (npx ravdl provider --device cuda:N), against the CUDA
// stand-in (native/mock/cuda_mock.cpp): it reports the device, runs its subgraphs there and
// returns the results a CPU run gives, bit for bit.
import '../helpers/cuda-mock.js';
import { afterAll, describe, expect, it } from 'vitest';
import * as R from '../../lib/index.js';
import { executeGraph } from '../../lib/graph/execute.js';
import type { ConstNode, GraphData } from '../../lib/graph/graph-data.js';
import { type Coordinator, startCoordinator } from '../../lib/ravenverse/coordinator/server.js';
import { createToken } from '../../lib/ravenverse/db/tokens.js';
import { type Provider, startProvider } from '../../lib/ravenverse/provider/provider.js';
import { NeuralNetwork } from '../../lib/v2/models/sequential.js';
import { Activation, Dense, Dropout } from '../../lib/v2/layers/index.js';
import { Adam } from '../../lib/v2/optimizers/index.js';
import { backends, waitFor } from '../ravenverse/helpers.js';

/** A recorded training run of a small MLP (batches in order: the stand-in has no gather). */
function recordMlp(): GraphData {
  R.manual_seed(4);
  const X = R.randn([40, 5]);
  const y = R.t(Array.from({ length: 40 }, (_, i) => i % 3), { dtype: 'int32' });
  R.flush();
  const graph = new R.Graph({ name: 'gpu-provider', algorithm: 'test', approach: 'distributed' });
  const m = new NeuralNetwork(new Adam({ lr: 0.01 }), 'CrossEntropy');
  m.add(new Dense(16, { input_shape: [5] }));
  m.add(new Activation('relu'));
  m.add(new Dropout(0.2));
  m.add(new Dense(3));
  m.add(new Activation('softmax'));
  m.fit_sync(X, y, { n_epochs: 2, batch_size: 10, shuffle: false, verbose: 0 });
  R.activate();
  return graph.data;
}

describe('a provider on a CUDA device (the stand-in)', () => {
  let c: Coordinator | undefined;
  let drop: (() => Promise<void>) | undefined;
  let provider: Provider | undefined;
  afterAll(async () => {
    R.initialize(null);
    R.flush();
    await provider?.stop();
    await c?.close();
    await drop?.();
  });

  it('reports its device, runs the subgraphs there and returns the CPU results bit for bit', async () => {
    const g = recordMlp();
    const local = await executeGraph(g, { constData: (n: ConstNode) => n.data! });
    const db = await backends()[0]!.create();
    drop = db.drop;
    c = await startCoordinator({ db: db.spec, port: 0, log: null });
    const token = await createToken(c.db.db, 'requester');
    const lines: string[] = [];
    provider = await startProvider({ server: c.url, token: await createToken(c.db.db, 'provider'), threads: 1, log: (l) => lines.push(l), name: 'gpu', device: 'cuda:1' });
    expect(provider.capability).toMatchObject({ device: 'cuda:1', device_name: 'ravdl CUDA mock 1 (host memory, CPU kernels)' });
    expect(provider.capability.gflops).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^gpu: [\d.]+ GFLOP\/s on cuda:1 \(ravdl CUDA mock 1/);
    await waitFor('the provider connected', async () => ((await c!.state.dashboard(null)).providers as { connected: boolean }[]).some((p) => p.connected));
    const dash = (await c.state.dashboard(null)).providers as { capability: { device?: string } }[];
    expect(dash[0]!.capability.device).toBe('cuda:1');
    R.initialize(token, { server: c.url });
    R.flush();
    new R.Graph(g.info, g);
    await R.execute();
    expect(local.persisted.size).toBeGreaterThan(4);
    for (const [name, v] of local.persisted) expect(R.fetch_persisting_op(name).toArray(), name).toEqual(v.toArray());
    // Protocol 3: the last answers reach the provider up to 20 ms after the run ends.
    await waitFor('the provider counted its accepted results', () => provider!.completed > 0, 10_000);
  }, 120_000);

  it('refuses a device it cannot use before connecting', async () => {
    await expect(startProvider({ server: 'http://127.0.0.1:9', token: 'x', log: null, device: 'cuda:7' })).rejects.toThrow(/--device: no device 'cuda:7': this machine has 2 CUDA device\(s\)/);
    await expect(startProvider({ server: 'http://127.0.0.1:9', token: 'x', log: null, device: 'gpu' as never })).rejects.toThrow(/--device: unknown device 'gpu'/);
  });
});
