// Import first in a test file to run it against the CUDA stand-in (native/mock/cuda_mock.cpp):
// two devices whose memory is host memory behind addresses that fault when read directly, and
// whose kernels are the CPU ones. The CUDA library is loaded on first use, so this must run
// before anything asks for CUDA (vitest runs each test file in a process of its own).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const addonDir = process.env.RAVDL_ADDON_PATH ? dirname(process.env.RAVDL_ADDON_PATH) : join(root, 'build', 'Release');
export const MOCK_LIB = join(addonDir, 'libravdl_cuda_mock.so');
if (!existsSync(MOCK_LIB)) throw new Error(`the CUDA stand-in ${MOCK_LIB} is missing: build the addon (npm run build:native)`);
process.env.RAVDL_CUDA_LIB = MOCK_LIB;
