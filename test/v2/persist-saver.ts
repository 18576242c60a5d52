// Saves two models into one directory in turn until it is killed (persist-kill.test.ts):
// `node --import tsx persist-saver.ts <dirA> <dirB> <target>`. Stops by itself after 60 s.
import { NeuralNetwork } from '../../lib/v2/index.js';

const [dirA, dirB, target] = process.argv.slice(2) as [string, string, string];
const models = [NeuralNetwork.load_sync(dirB), NeuralNetwork.load_sync(dirA)];
process.stdout.write('ready\n');
const end = Date.now() + 60_000;
for (let i = 0; Date.now() < end; i++) models[i % 2]!.save_sync(target);
