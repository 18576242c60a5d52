// Counter-based random numbers (Philox4x32-10, Salmon et al., SC'11). Every value is a pure
// function of (seed, offset, element index): results do not depend on the thread count, and
// the AVX-512, AVX2 and portable code paths give bit-identical values. Element i uses word
// i % 4 of the block for counter offset + i / 4 (key = the 64-bit seed).
//
// Counter use: a call over n elements reads the 128-bit counters offset, offset+1, ...,
// offset + ceil(n/4) - 1 (4 outputs per counter value). The caller advances its offset by
// rand_counters(n) between calls to get fresh, non-overlapping streams.
#pragma once
#include <array>
#include <cstdint>

#include "ravdl/tensor.h"

namespace ravdl {

// One Philox4x32-10 block: 4 random words from a 128-bit counter and a 64-bit key.
std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key);

// Counter values consumed by any random kernel over n elements: ceil(n / 4).
int64_t rand_counters(int64_t n);

// seed and offset must be non-negative integers (ERR_ATTR otherwise).
// Uniform in [low, high): low <= high, both finite.
void rand_uniform(FSpan out, double low, double high, int64_t seed, int64_t offset);
// Normal(mean, std) by Box-Muller: std >= 0, both finite.
void rand_normal(FSpan out, double mean, double std, int64_t seed, int64_t offset);

// Inverted dropout like torch: mask[i] = 1 with probability 1-p, out = x * mask / (1 - p);
// p = 1 gives all zeros. out may be x itself (exactly); mask may not overlap x or out.
void dropout(Span<const float> x, FSpan out, Span<uint8_t> mask, double p, int64_t seed,
             int64_t offset);
// gx = gy * mask / (1 - p) (0 where p = 1); gx may be gy itself. A nonzero mask byte = kept.
void dropout_backward(Span<const float> gy, Span<const uint8_t> mask, double p, FSpan gx);

}  // namespace ravdl
