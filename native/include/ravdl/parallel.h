// The one thread pool of ravdl. Kernels split large loops with parallel_for; small loops
// (below `grain` iterations per thread) run on the calling thread. A parallel_for issued
// from inside another (or while another JS thread holds the pool) runs serially, so the
// pool never oversubscribes the cores. OpenBLAS is kept single-threaded and driven from
// this pool (see gemm), so two pools never spin at once.
#pragma once
#include <cstdint>
#include <functional>

namespace ravdl {

// Sets the number of threads (calling thread included) used by parallel_for and BLAS.
// n <= 0 restores the default (hardware cores, or RAVDL_NUM_THREADS). Process-wide: the pool
// is shared by every thread that calls the engine (Node's main thread and its workers), so a
// change made from any of them applies to all; it waits for a running parallel_for to end.
void set_num_threads(int n);
int get_num_threads();
// Hardware concurrency as seen at start-up.
int hardware_threads();

// Calls fn(begin, end) over disjoint chunks covering [0, n). Each chunk has at least
// `grain` iterations, so n < 2*grain runs inline on the caller.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

// True while running inside a parallel_for chunk (nested calls run serially).
bool in_parallel_region();

}  // namespace ravdl
