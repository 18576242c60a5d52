// Prints every op case as JSON for the PyTorch fixture generator (npm run fixtures:ops).
import { groups } from './cases/index.js';

const out: Record<string, unknown[]> = {};
for (const [group, cases] of Object.entries(groups)) {
  out[group] = cases
    .filter((c) => c.torch !== null)
    .map((c) => ({ key: `${c.op}/${c.id}`, inputs: c.inputs, torch: c.torch, grad: c.grad ?? true }));
}
process.stdout.write(JSON.stringify(out));
