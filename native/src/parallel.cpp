#include "ravdl/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RAVDL_PAUSE() _mm_pause()
#else
#define RAVDL_PAUSE() std::this_thread::yield()
#endif

namespace ravdl {
namespace {

thread_local bool t_in_region = false;

int default_threads() {
  if (const char* env = std::getenv("RAVDL_NUM_THREADS")) {
    int n = std::atoi(env);
    if (n > 0) return n;
  }
  return hardware_threads();
}

// A job is published by bumping `generation`; workers claim chunks from `next_chunk`.
class Pool {
 public:
  explicit Pool(int threads) { start(threads); }
  ~Pool() { stop(); }

  // Read without the lock by parallel_for while another JS thread may resize: atomic.
  int threads() const { return threads_.load(std::memory_order_relaxed); }

  void resize(int threads) {
    std::lock_guard<std::mutex> use(use_mutex_);
    stop();
    start(threads);
  }

  // Returns false when the pool is busy (another JS thread) so the caller runs inline.
  bool run(int64_t n, int64_t chunk, const std::function<void(int64_t, int64_t)>& fn) {
    std::unique_lock<std::mutex> use(use_mutex_, std::try_to_lock);
    if (!use.owns_lock()) return false;
    fn_ = &fn;
    n_ = n;
    chunk_ = chunk;
    chunks_ = (n + chunk - 1) / chunk;
    next_chunk_.store(0, std::memory_order_relaxed);
    done_chunks_.store(0, std::memory_order_relaxed);
    acks_.store(0, std::memory_order_relaxed);
    error_ = nullptr;
    {
      std::lock_guard<std::mutex> lk(wake_mutex_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_cv_.notify_all();
    work();
    while (done_chunks_.load(std::memory_order_acquire) < chunks_) RAVDL_PAUSE();
    // Every worker must have seen this job before its fields are reused by the next one.
    const int workers = threads() - 1;
    while (acks_.load(std::memory_order_acquire) < workers) RAVDL_PAUSE();
    fn_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void start(int threads) {
    threads_.store(std::max(1, threads), std::memory_order_relaxed);
    quit_ = false;
    // Workers start from the current generation, so a job published before a new thread
    // gets scheduled is still seen by it.
    uint64_t g0 = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < threads_.load(); ++i) workers_.emplace_back([this, g0] { loop(g0); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lk(wake_mutex_);
      quit_ = true;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_cv_.notify_all();
    for (auto& w : workers_) w.join();
    workers_.clear();
  }

  void work() {
    t_in_region = true;
    for (;;) {
      int64_t c = next_chunk_.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks_) break;
      int64_t b = c * chunk_, e = std::min(n_, b + chunk_);
      try {
        (*fn_)(b, e);
      } catch (...) {
        std::lock_guard<std::mutex> lk(error_mutex_);
        if (!error_) error_ = std::current_exception();
      }
      done_chunks_.fetch_add(1, std::memory_order_acq_rel);
    }
    t_in_region = false;
  }

  void loop(uint64_t seen) {
    for (;;) {
      // Spin briefly so back-to-back kernels do not pay a futex wake-up each.
      uint64_t g = seen;
      for (int i = 0; i < 4000 && (g = generation_.load(std::memory_order_acquire)) == seen; ++i)
        RAVDL_PAUSE();
      if (g == seen) {
        std::unique_lock<std::mutex> lk(wake_mutex_);
        wake_cv_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen; });
        g = generation_.load(std::memory_order_acquire);
      }
      seen = g;
      if (quit_) return;
      work();
      acks_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  std::atomic<int> threads_{1};
  std::vector<std::thread> workers_;
  std::mutex use_mutex_, wake_mutex_, error_mutex_;
  std::condition_variable wake_cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_chunk_{0}, done_chunks_{0};
  std::atomic<int> acks_{0};
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0, chunk_ = 1, chunks_ = 0;
  std::exception_ptr error_;
  bool quit_ = false;  // written under wake_mutex_ before a generation bump
};

Pool& pool() {
  static Pool p(default_threads());
  return p;
}

}  // namespace

int hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

void set_num_threads(int n) { pool().resize(n <= 0 ? default_threads() : n); }

int get_num_threads() { return pool().threads(); }

bool in_parallel_region() { return t_in_region; }

void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  Pool& p = pool();
  int threads = p.threads();
  if (t_in_region || threads == 1 || n < 2 * grain) {
    fn(0, n);
    return;
  }
  // Two chunks per thread: balance when a worker wakes late, without tiny chunks.
  int64_t chunk = std::max(grain, (n + 2 * threads - 1) / (2 * threads));
  if (!p.run(n, chunk, fn)) fn(0, n);
}

}  // namespace ravdl
