#!/usr/bin/env bash
# The CUDA backend on a GPU machine without Node (it needs cmake, g++, nvcc; PyTorch with CUDA
# for the comparison): builds the core, libravdl_cuda.so, the CUDA kernel tests and the SGEMM
# benchmark with cmake, runs the tests (each CUDA kernel against the CPU kernel), then compares
# our SGEMM with torch.matmul (FP32, TF32 off) on this GPU. Sized to finish in under 5 minutes.
#   scripts/gpu-check.sh                 # build dir build-gpu/, SGEMM n=4096
#   SGEMM_N=2048 CUDA_ARCHS=80 scripts/gpu-check.sh
# Without a CUDA device it says so after the tests' "skipped: no CUDA device (...)" and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${RAVDL_GPU_BUILD_DIR:-build-gpu}
n=${SGEMM_N:-4096}
start=$(date +%s)

if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
command -v nvcc >/dev/null 2>&1 || { echo "gpu-check: nvcc not found (put the CUDA toolkit's bin/ on PATH)" >&2; exit 1; }

echo "== build ($dir): core, CUDA library, CUDA tests, SGEMM benchmark"
flags=(-DRAVDL_BUILD_TESTS=ON -DRAVDL_CUDA=ON -DCMAKE_BUILD_TYPE=Release)
[ -n "${CUDA_ARCHS:-}" ] && flags+=("-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS")
cmake -S . -B "$dir" "${flags[@]}" >/dev/null
timeout 240 cmake --build "$dir" -j "$(nproc)" --target ravdl_cuda ravdl_cuda_tests ravdl_cuda_bench
[ -f "$dir/libravdl_cuda.so" ] || { echo "gpu-check: CMake did not build libravdl_cuda.so (is nvcc usable?)" >&2; exit 1; }

echo "== CUDA kernels against the CPU kernels"
timeout 120 "$dir/ravdl_cuda_tests" | tee "$dir/cuda-tests.txt"
if grep -q '^skipped:' "$dir/cuda-tests.txt"; then
  echo "gpu-check: no usable CUDA device here, so no benchmark or PyTorch comparison ($(($(date +%s) - start)) s)"
  exit 0
fi

echo "== SGEMM n=$n, ours (tiled kernel)"
timeout 60 "$dir/ravdl_cuda_bench" "$n" 20 | tee "$dir/sgemm.txt"
ours=$(sed -n 's/^SGEMM_GFLOPS=//p' "$dir/sgemm.txt")

echo "== SGEMM n=$n, torch.matmul on the same GPU"
torch_out=$(timeout 90 python3 - "$n" <<'PY' || true
import sys, time
try:
    import torch
except ImportError:
    print("PyTorch not found"); sys.exit(0)
if not torch.cuda.is_available():
    print("PyTorch has no CUDA device"); sys.exit(0)
torch.backends.cuda.matmul.allow_tf32 = False  # plain FP32, as ours
n = int(sys.argv[1])
a = torch.rand(n, n, device="cuda") - 0.5
b = torch.rand(n, n, device="cuda") - 0.5
torch.matmul(a, b); torch.cuda.synchronize()
iters = 20
t0 = time.perf_counter()
for _ in range(iters): torch.matmul(a, b)
torch.cuda.synchronize()
sec = (time.perf_counter() - t0) / iters
print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}: {2 * n**3 / sec / 1e9:.1f} GFLOP/s")
print(f"TORCH_GFLOPS={2 * n**3 / sec / 1e9:.1f}")
PY
)
echo "$torch_out"
theirs=$(printf '%s\n' "$torch_out" | sed -n 's/^TORCH_GFLOPS=//p')
if [ -n "$ours" ] && [ -n "$theirs" ]; then
  python3 -c "print(f'ours / torch.matmul = {float(\"$ours\") / float(\"$theirs\"):.2f}')"
fi
echo "gpu-check: done in $(($(date +%s) - start)) s"
