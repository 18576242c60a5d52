"""Timing shared by the PyTorch peer scripts, the same way benchmarks/harness.ts times ravdl:
warm-up calls, then samples for a time budget, reported as the median."""
import statistics
import time


def median_ms(fn, time_ms, warmup_ms=0, max_samples=None):
    """Median milliseconds per call of fn: at least 3 warm-up calls (and warmup_ms of them),
    then at least 5 samples and as many as fit in time_ms (at most max_samples)."""
    deadline = time.perf_counter() + warmup_ms / 1000
    n = 0
    while n < 3 or time.perf_counter() < deadline:
        fn()
        n += 1
    samples = []
    deadline = time.perf_counter() + time_ms / 1000
    while len(samples) < 5 or (time.perf_counter() < deadline and (max_samples is None or len(samples) < max_samples)):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def blas_threads_setter():
    """torch.set_num_threads does not reach the OpenBLAS pthread pool Debian's torch links (it
    stays at the core count), so a '1 thread' torch would run its GEMMs on every core and
    oversubscribe them. Returns a function that caps that pool too, or None when OpenBLAS is not
    loaded."""
    try:
        import ctypes

        return ctypes.CDLL("libopenblas.so.0").openblas_set_num_threads  # the copy torch loaded
    except (OSError, AttributeError):
        return None
