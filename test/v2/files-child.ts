// Runs one file-reading call in its own process and prints, as JSON, the error it threw (if any)
// and the process's peak resident memory: `node --import tsx files-child.ts <call> <path> [json options]`.
import { NeuralNetwork } from '../../lib/v2/index.js';
import { load_safetensors, read_csv, read_idx } from '../../lib/v2/utils/index.js';

const [call, path, opts] = process.argv.slice(2) as [string, string, string | undefined];
const options = opts ? JSON.parse(opts) : undefined;
const calls: Record<string, () => unknown> = {
  read_csv: () => read_csv(path, options),
  read_idx: () => read_idx(path, options),
  load_safetensors: () => load_safetensors(path, options),
  load_model: () => NeuralNetwork.load_sync(path, options),
};
let error: { name: string; code?: string; message: string } | null = null;
try {
  calls[call]!();
} catch (e) {
  error = { name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message };
}
process.stdout.write(JSON.stringify({ error, maxRSS: process.resourceUsage().maxRSS * 1024 }) + '\n');
