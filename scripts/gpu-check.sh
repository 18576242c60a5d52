#!/usr/bin/env bash
# The CUDA backend on a GPU machine without Node (it needs cmake, g++, nvcc; PyTorch with CUDA
# for the comparison). One prepared call, sized to finish in under 5 minutes on an H200:
#   1. builds the core, libravdl_cuda.so, the CUDA kernel tests and the C++ benchmark with plain
#      cmake (no npm, no Node);
#   2. runs the tests: every CUDA kernel against the CPU kernel on the same inputs;
#   3. benchmarks (native/tests/test_cuda_bench.cpp): SGEMM n=4096 with cuBLAS (when the
#      machine has it) and with our tiled kernel (RAVDL_CUDA_GEMM=builtin), conv2d forward and
#      forward+backward on the shapes of benchmarks/conv.bench.ts, one training step of the
#      benchmarks' CNN (benchmarks/models.ts, Adam, batch 64);
#   4. measures the same with PyTorch on the same GPU (FP32, TF32 off) and prints the ratios.
#   scripts/gpu-check.sh                 # build dir build-gpu/, SGEMM n=4096
#   SGEMM_N=2048 CUDA_ARCHS=80 scripts/gpu-check.sh
# Without a CUDA device it says so after the tests' "skipped: no CUDA device (...)" and exits 0.
# Exit status: 1 when the build or a kernel test fails (the benchmarks still run after a test
# failure, so one call gives every figure).
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${RAVDL_GPU_BUILD_DIR:-build-gpu}
n=${SGEMM_N:-4096}
start=$(date +%s)
status=0

if ! command -v nvcc >/dev/null 2>&1 && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH="/usr/local/cuda/bin:$PATH"; fi
command -v nvcc >/dev/null 2>&1 || { echo "gpu-check: nvcc not found (put the CUDA toolkit's bin/ on PATH)" >&2; exit 1; }
py=python3
for p in python3 /usr/bin/python3; do
  if "$p" -c 'import torch' >/dev/null 2>&1; then py=$p; break; fi
done

# Without a usable cmake (>= 3.20), the same targets are built with g++ and nvcc directly
# (no OpenBLAS there: the CPU references use the built-in GEMM).
build_direct() {
  local arch=${CUDA_ARCHS:-90} obj="$dir/direct-obj" src flags
  mkdir -p "$obj"
  for src in native/src/*.cpp native/src/cpu/*.cpp native/src/gemm/*.cpp native/src/cuda/*.cpp; do
    flags=""
    case "$src" in
      *_avx512.cpp) flags="-mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma" ;;
      *_avx2.cpp) flags="-mavx2 -mfma" ;;
    esac
    echo "g++ -std=gnu++17 -O3 -fno-math-errno -fPIC -pthread -Inative/include -DRAVDL_CUDA_BUILT=1 $flags -c $src -o $obj/$(echo "$src" | tr / _).o"
  done | xargs -P "$(nproc)" -I{} sh -c '{}' || return 1
  rm -f "$obj/libravdl_core.a" && ar rcs "$obj/libravdl_core.a" "$obj"/*.o || return 1
  nvcc -std=c++17 -O3 "--generate-code=arch=compute_$arch,code=[compute_$arch,sm_$arch]" -Xcompiler -fPIC,-fvisibility=hidden \
    -shared -cudart static -Inative/include native/src/cuda/*.cu -o "$dir/libravdl_cuda.so" -ldl || return 1
  local tests=() t
  for t in native/tests/test_cuda*.cpp; do
    case "$t" in *test_cuda_bench.cpp|*test_cuda_registry.cpp) ;; *) tests+=("$t") ;; esac
  done
  g++ -std=gnu++17 -O2 -pthread -Inative/include "${tests[@]}" "$obj/libravdl_core.a" -ldl -o "$dir/ravdl_cuda_tests" &
  g++ -std=gnu++17 -O2 -pthread -Inative/include native/tests/test_cuda_bench.cpp "$obj/libravdl_core.a" -ldl -o "$dir/ravdl_cuda_bench" &
  wait
}

echo "== build ($dir): core, CUDA library, CUDA tests, benchmark ($(nvcc --version | tail -1))"
mkdir -p "$dir"
flags=(-DRAVDL_BUILD_TESTS=ON -DRAVDL_CUDA=ON -DCMAKE_BUILD_TYPE=Release)
[ -n "${CUDA_ARCHS:-}" ] && flags+=("-DCMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS")
if command -v cmake >/dev/null 2>&1 && cmake -S . -B "$dir" "${flags[@]}" >"$dir/cmake.log" 2>&1; then
  timeout 240 cmake --build "$dir" -j "$(nproc)" --target ravdl_cuda ravdl_cuda_tests ravdl_cuda_bench 2>&1 | grep -E "error|warning|Error" | head -50
else
  echo "gpu-check: no usable cmake ($(command -v cmake >/dev/null && tail -3 "$dir/cmake.log" || echo 'not installed')); building with g++ and nvcc directly"
  timeout 240 bash -c "$(declare -f build_direct); dir='$dir' CUDA_ARCHS='${CUDA_ARCHS:-}' build_direct" 2>&1 | grep -E "error|Error" | head -50
fi
[ -f "$dir/libravdl_cuda.so" ] && [ -x "$dir/ravdl_cuda_tests" ] && [ -x "$dir/ravdl_cuda_bench" ] ||
  { echo "gpu-check: the build failed" >&2; exit 1; }
echo "build done in $(($(date +%s) - start)) s"

echo "== CUDA kernels against the CPU kernels (one process per group: a kernel fault cannot hide the others)"
"$dir/ravdl_cuda_tests" errors > "$dir/cuda-tests.txt" 2>&1
cat "$dir/cuda-tests.txt"
if grep -q '^skipped:' "$dir/cuda-tests.txt"; then
  echo "gpu-check: no usable CUDA device here, so no benchmark or PyTorch comparison ($(($(date +%s) - start)) s)"
  exit 0
fi
grep -q ', 0 failed$' "$dir/cuda-tests.txt" || status=1
for g in $("$dir/ravdl_cuda_tests" --list); do
  [ "$g" = errors ] && continue
  timeout 60 "$dir/ravdl_cuda_tests" "$g" > "$dir/cuda-tests-$g.txt" 2>&1
  rc=$?
  grep -E '^(FAIL|[a-z_]+ +[0-9]+ checks|matmul ran on)' "$dir/cuda-tests-$g.txt" | head -40
  [ "$rc" = 0 ] || { echo "gpu-check: group $g FAILED (exit $rc; $dir/cuda-tests-$g.txt)"; tail -3 "$dir/cuda-tests-$g.txt"; status=1; }
done
# Our SGEMM kernels too (the runs above use cuBLAS when the machine has it).
RAVDL_CUDA_GEMM=builtin timeout 60 "$dir/ravdl_cuda_tests" matmul conv > "$dir/cuda-tests-builtin-gemm.txt" 2>&1
rc=$?
grep -E '^(FAIL|[a-z_]+ +[0-9]+ checks|matmul ran on)' "$dir/cuda-tests-builtin-gemm.txt" | sed 's/^/builtin GEMM: /' | head -40
[ "$rc" = 0 ] || { echo "gpu-check: matmul/conv with the built-in GEMM FAILED (exit $rc)"; status=1; }
[ "$status" = 0 ] && echo "gpu-check: every CUDA kernel test passed" || echo "gpu-check: CUDA kernel tests FAILED"

# Out-of-bounds and race checks of the kernels on the groups with small inputs (memcheck is slow;
# capped so the whole script stays under 5 minutes). Skipped when compute-sanitizer is missing.
san=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
if [ -n "$san" ] && [ "${RAVDL_GPU_SANITIZE:-1}" = 1 ]; then
  echo "== compute-sanitizer memcheck (conv pool norm loss embedding optim data pointwise_loss, 60 s at most)"
  RAVDL_CUDA_NO_CACHE=1 timeout 60 "$san" --tool memcheck --leak-check no --error-exitcode 3 "$dir/ravdl_cuda_tests" conv pool norm loss embedding optim data pointwise_loss \
    > "$dir/memcheck.txt" 2>&1
  rc=$?
  grep -E "ERROR SUMMARY|Invalid|out of bounds|FAIL" "$dir/memcheck.txt" | head -20
  case $rc in
    0) echo "memcheck: clean" ;;
    124) echo "memcheck: not finished in 60 s (partial: $dir/memcheck.txt)" ;;
    *) echo "memcheck: errors (exit $rc; $dir/memcheck.txt)"; status=1 ;;
  esac
fi

echo "== benchmark: SGEMM n=$n (cuBLAS when loaded), conv2d, CNN training step"
timeout 90 "$dir/ravdl_cuda_bench" all "$n" 20 2>&1 | tee "$dir/bench.txt" || status=1
echo "== benchmark: SGEMM n=$n with our tiled kernel"
RAVDL_CUDA_GEMM=builtin timeout 60 "$dir/ravdl_cuda_bench" sgemm "$n" 10 2>&1 | tee "$dir/bench-builtin.txt" || status=1

echo "== PyTorch on the same GPU ($py)"
timeout 120 "$py" - "$n" <<'PY' 2>&1 | tee "$dir/torch.txt"
import subprocess, sys, time
try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("PyTorch not found"); sys.exit(0)
if not torch.cuda.is_available():
    print("PyTorch has no CUDA device"); sys.exit(0)
torch.backends.cuda.matmul.allow_tf32 = False  # plain FP32, as ours
torch.backends.cudnn.allow_tf32 = False
dev = torch.device("cuda")
props = torch.cuda.get_device_properties(0)
print(f"torch {torch.__version__} on {props.name}, {props.multi_processor_count} SMs")

def timed(fn, iters):
    fn(); torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters): fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / iters * 1e3

n = int(sys.argv[1])
a = torch.rand(n, n, device=dev) - 0.5
b = torch.rand(n, n, device=dev) - 0.5
ms = timed(lambda: torch.matmul(a, b), 20)
print(f"TORCH_SGEMM_GFLOPS={2 * n**3 / (ms * 1e-3) / 1e9:.1f}")
# FP32 peak: SMs x 128 FP32 lanes x 2 flops x the maximum SM clock (from nvidia-smi).
try:
    mhz = float(subprocess.run(["nvidia-smi", "--query-gpu=clocks.max.sm", "--format=csv,noheader,nounits", "-i", "0"],
                               capture_output=True, text=True, timeout=20).stdout.split()[0])
    print(f"FP32_PEAK_GFLOPS={props.multi_processor_count * 128 * 2 * mhz / 1e3:.1f}")
except Exception as e:
    print(f"FP32 peak unknown ({e})")

for key, N, C, H, W, Cout, k, pad in [("N32_3x32x32_64_k3p1", 32, 3, 32, 32, 64, 3, 1), ("N32_64x16x16_128_k3p1", 32, 64, 16, 16, 128, 3, 1)]:
    x = torch.randn(N, C, H, W, device=dev, requires_grad=True)
    w = torch.randn(Cout, C, k, k, device=dev, requires_grad=True)
    bias = torch.randn(Cout, device=dev, requires_grad=True)
    with torch.no_grad():
        f = timed(lambda: F.conv2d(x, w, bias, padding=pad), 20)
    gy = torch.randn(N, Cout, H + 2 * pad - k + 1, W + 2 * pad - k + 1, device=dev)
    def fb():
        y = F.conv2d(x, w, bias, padding=pad)
        torch.autograd.grad(y, (x, w, bias), gy)
    print(f"TORCH_CONV_{key}_FWD_MS={f:.4f}")
    print(f"TORCH_CONV_{key}_FWDBWD_MS={timed(fb, 20):.4f}")

model = torch.nn.Sequential(
    torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(1600, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)).to(dev)
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
xb = torch.randn(64, 1, 28, 28, device=dev)
yb = torch.arange(64, device=dev) * 7 % 10
def step():
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
for _ in range(3): step()
print(f"TORCH_CNN_STEP_MS={timed(step, 20):.4f}")
PY

echo "== summary"
"$py" - "$dir" <<'PY'
import re, sys
d = sys.argv[1]
vals = {}
for f in ("bench.txt", "bench-builtin.txt", "torch.txt"):
    try:
        for line in open(f"{d}/{f}"):
            m = re.match(r"^([A-Za-z0-9_]+)=([0-9.]+)$", line.strip())
            if m: vals[(f, m.group(1))] = float(m.group(2))
    except OSError:
        pass
def get(f, k): return vals.get((f, k))
blas, ours, torch_g, peak = get("bench.txt", "SGEMM_GFLOPS"), get("bench-builtin.txt", "SGEMM_GFLOPS"), get("torch.txt", "TORCH_SGEMM_GFLOPS"), get("torch.txt", "FP32_PEAK_GFLOPS")
def ratio(a, b): return f"{a / b:.2f}" if a and b else "n/a"
print(f"SGEMM GFLOP/s: default backend {blas}, our kernel {ours}, torch.matmul {torch_g}, FP32 peak {peak}")
print(f"  our kernel / peak = {ratio(ours, peak)}, our kernel / torch = {ratio(ours, torch_g)}, default backend / torch = {ratio(blas, torch_g)}")
for key in ("N32_3x32x32_64_k3p1", "N32_64x16x16_128_k3p1"):
    for part in ("FWD", "FWDBWD"):
        a, b = get("bench.txt", f"CONV_{key}_{part}_MS"), get("torch.txt", f"TORCH_CONV_{key}_{part}_MS")
        print(f"conv2d {key} {part.lower()}: ours {a} ms, torch {b} ms, speed ours/torch = {ratio(b, a)}")
a, b = get("bench.txt", "CNN_STEP_MS"), get("torch.txt", "TORCH_CNN_STEP_MS")
print(f"CNN training step: ours {a} ms, torch eager {b} ms, speed ours/torch = {ratio(b, a)}")
PY
echo "gpu-check: done in $(($(date +%s) - start)) s (status $status)"
exit $status
