// The seed's requester script create_federated_analytics.py (ravenverse/Requester) ported: a
// federated graph asks for the mean, variance and standard deviation of four columns over data
// that stays on the providers' machines; max_clients providers contribute the statistics of their
// own rows (npx ravdl provider --federated GRAPH_ID --data examples/data/office_a.csv), and the
// requester fetches the combined values. It needs a coordinator (RAVDL_SERVER, TOKEN).
//   RAVDL_SERVER=http://127.0.0.1:8080 TOKEN=<requester token> npm run example:federated
import { pathToFileURL } from 'node:url';
import * as R from 'ravdl';

export async function main({ max_clients = 2, verbose = true } = {}): Promise<Record<string, number[]>> {
  const server = process.env.RAVDL_SERVER;
  if (!server) throw new Error('federated analytics runs on a coordinator: set RAVDL_SERVER (and TOKEN, a requester token)');
  R.initialize(process.env.TOKEN ?? null, { server });
  R.flush();
  const graph = new R.Graph({
    name: 'Office Data',
    approach: 'federated',
    rules: JSON.stringify({ rules: { age: { min: 18, max: 80 }, salary: { min: 1, max: 5 }, bonus: { min: 0, max: 10 }, fund: {} }, max_clients }),
  });

  const mean = R.federated_mean();
  const variance = R.federated_variance();
  const standard_deviation = R.federated_standard_deviation();

  mean.persist_op({ name: 'mean' });
  variance.persist_op({ name: 'variance' });
  standard_deviation.persist_op({ name: 'standard_deviation' });

  R.activate();
  R.execute();
  if (verbose) console.log(`waiting for ${max_clients} provider(s): npx ravdl provider --server ${server} --token <provider token> --list-federated`);
  await R.track_progress({ stream: verbose ? process.stdout : null });

  const out: Record<string, number[]> = {};
  for (const name of ['mean', 'variance', 'standard_deviation']) {
    out[name] = R.fetch_persisting_op({ op_name: name }).toArray() as number[];
    if (verbose) console.log(`\n${name}: ${graph.federatedColumns.map((c, j) => `${c} ${out[name]![j]!.toFixed(4)}`).join(', ')}`);
  }
  return out;
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
