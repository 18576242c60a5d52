// Philox4x32-10 and the kernels built on it (uniform, normal, dropout).
#include "ravdl/random.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "ravdl/parallel.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace ravdl {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;  // round multipliers
constexpr uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;  // key schedule increments

inline std::array<uint32_t, 4> philox_round(const std::array<uint32_t, 4>& c, uint32_t k0,
                                            uint32_t k1) {
  uint64_t p0 = static_cast<uint64_t>(kMul0) * c[0];
  uint64_t p1 = static_cast<uint64_t>(kMul1) * c[2];
  auto hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
  auto hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
  return {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
}

void check_seed(const char* op, int64_t seed, int64_t offset) {
  if (seed < 0) fail(ErrorCode::Attr, op, ": seed must be a non-negative integer, got ", seed);
  if (offset < 0) fail(ErrorCode::Attr, op, ": offset must be a non-negative integer, got ", offset);
}

constexpr int64_t kLanes = 16;               // counter values per batch
constexpr int64_t kBatch = 4 * kLanes;       // random words (= elements) per batch

// Portable Philox on kLanes consecutive counters: writes the 4 words of counter ctr+l to
// w[4l .. 4l+3]. The AVX2 / AVX-512 versions below compute the same words in registers.
[[gnu::always_inline]] inline void philox_batch(uint64_t seed, uint64_t ctr, uint32_t* w) {
  uint32_t c0[kLanes], c1[kLanes], c2[kLanes], c3[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) {
    const uint64_t c = ctr + uint64_t(l);
    c0[l] = uint32_t(c);
    c1[l] = uint32_t(c >> 32);
    c2[l] = c3[l] = 0;
  }
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    for (int64_t l = 0; l < kLanes; ++l) {
      const uint64_t p0 = uint64_t(kMul0) * c0[l], p1 = uint64_t(kMul1) * c2[l];
      const uint32_t n0 = uint32_t(p1 >> 32) ^ c1[l] ^ k0, n2 = uint32_t(p0 >> 32) ^ c3[l] ^ k1;
      c1[l] = uint32_t(p1);
      c3[l] = uint32_t(p0);
      c0[l] = n0;
      c2[l] = n2;
    }
    k0 += kWeyl0;  // the bump after the last round is unused
    k1 += kWeyl1;
  }
  for (int64_t l = 0; l < kLanes; ++l) {
    w[4 * l] = c0[l];
    w[4 * l + 1] = c1[l];
    w[4 * l + 2] = c2[l];
    w[4 * l + 3] = c3[l];
  }
}

#if defined(__x86_64__)
// GCC 12 reports a false -Wuninitialized inside avx512fintrin.h (_mm512_undefined_*).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// fp-contract=off: no fused multiply-adds, so every path rounds like the portable one and
// the values are bit-identical on every CPU.
#define RAVDL_AVX512_TARGET \
  __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2"), optimize("fp-contract=off")))
// High halves of the 32x32-bit products m * c in all 16 lanes.
RAVDL_AVX512_TARGET [[gnu::always_inline]] inline __m512i mulhi_epu32(__m512i c, __m512i m) {
  const __m512i even = _mm512_mul_epu32(c, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(c, 32), m);
  return _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}
// Same as philox_batch with the 16 lanes in AVX-512 registers. The 32x32->64 products come
// from _mm512_mul_epu32 on the even and the odd 32-bit lanes.
RAVDL_AVX512_TARGET void philox_batch_avx512(uint64_t seed, uint64_t ctr, uint32_t* w) {
  alignas(64) uint32_t lo[kLanes], hi[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) {
    lo[l] = uint32_t(ctr + uint64_t(l));
    hi[l] = uint32_t((ctr + uint64_t(l)) >> 32);
  }
  __m512i c0 = _mm512_load_si512(lo), c1 = _mm512_load_si512(hi);
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  const __m512i m0 = _mm512_set1_epi32(int(kMul0)), m1 = _mm512_set1_epi32(int(kMul1));
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    const __m512i hi0 = mulhi_epu32(c0, m0), lo0 = _mm512_mullo_epi32(c0, m0);
    const __m512i hi1 = mulhi_epu32(c2, m1), lo1 = _mm512_mullo_epi32(c2, m1);
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(int(k0)));
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(int(k1)));
    c1 = lo1;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  // 4x4 transposes inside each 128-bit lane: vector j, lane k holds the 4 words of counter 4k+j.
  const __m512i a = _mm512_unpacklo_epi32(c0, c1), b = _mm512_unpackhi_epi32(c0, c1);
  const __m512i c = _mm512_unpacklo_epi32(c2, c3), d = _mm512_unpackhi_epi32(c2, c3);
  const __m512i v[4] = {_mm512_unpacklo_epi64(a, c), _mm512_unpackhi_epi64(a, c),
                        _mm512_unpacklo_epi64(b, d), _mm512_unpackhi_epi64(b, d)};
  alignas(64) uint32_t t[4][kLanes];
  for (int j = 0; j < 4; ++j) _mm512_store_si512(t[j], v[j]);
  for (int k = 0; k < 4; ++k)
    for (int j = 0; j < 4; ++j) std::memcpy(w + 4 * (4 * k + j), &t[j][4 * k], 16);
}

#define RAVDL_AVX2_TARGET __attribute__((target("avx2"), optimize("fp-contract=off")))
RAVDL_AVX2_TARGET [[gnu::always_inline]] inline __m256i mulhi_epu32_avx2(__m256i c, __m256i m) {
  const __m256i even = _mm256_mul_epu32(c, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(c, 32), m);
  return _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}
// philox_batch with 8 lanes per AVX2 register, twice.
RAVDL_AVX2_TARGET void philox_batch_avx2(uint64_t seed, uint64_t ctr, uint32_t* w) {
  for (int64_t half = 0; half < 2; ++half) {
    alignas(32) uint32_t lo[8], hi[8];
    for (int64_t l = 0; l < 8; ++l) {
      const uint64_t c = ctr + uint64_t(half * 8 + l);
      lo[l] = uint32_t(c);
      hi[l] = uint32_t(c >> 32);
    }
    __m256i c0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lo));
    __m256i c1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(hi));
    __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
    const __m256i m0 = _mm256_set1_epi32(int(kMul0)), m1 = _mm256_set1_epi32(int(kMul1));
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    for (int r = 0; r < 10; ++r) {
      const __m256i hi0 = mulhi_epu32_avx2(c0, m0), lo0 = _mm256_mullo_epi32(c0, m0);
      const __m256i hi1 = mulhi_epu32_avx2(c2, m1), lo1 = _mm256_mullo_epi32(c2, m1);
      c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(int(k0)));
      c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(int(k1)));
      c1 = lo1;
      c3 = lo0;
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    const __m256i a = _mm256_unpacklo_epi32(c0, c1), b = _mm256_unpackhi_epi32(c0, c1);
    const __m256i c = _mm256_unpacklo_epi32(c2, c3), d = _mm256_unpackhi_epi32(c2, c3);
    const __m256i v[4] = {_mm256_unpacklo_epi64(a, c), _mm256_unpackhi_epi64(a, c),
                          _mm256_unpacklo_epi64(b, d), _mm256_unpackhi_epi64(b, d)};
    alignas(32) uint32_t t[4][8];
    for (int j = 0; j < 4; ++j) _mm256_store_si256(reinterpret_cast<__m256i*>(t[j]), v[j]);
    uint32_t* wh = w + half * 32;
    for (int k = 0; k < 2; ++k)
      for (int j = 0; j < 4; ++j) std::memcpy(wh + 4 * (4 * k + j), &t[j][4 * k], 16);
  }
}
#pragma GCC diagnostic pop
#endif

// Each kernel below works on batches [b0, b1) of kBatch elements; element i always takes word
// i % 4 of counter offset + i / 4, whatever the batching. The loops are written once and
// compiled for AVX-512, AVX2 and portable code; isa() picks one at run time.
struct Stream {
  uint64_t seed, offset;
  int64_t n;
};

enum class Isa { Portable, Avx2, Avx512 };

// The kBatch words of batch b.
template <Isa kIsa>
[[gnu::always_inline]] inline void next_words(const Stream& s, int64_t b, uint32_t* w) {
  const uint64_t ctr = s.offset + uint64_t(b * kLanes);
#if defined(__x86_64__)
  if constexpr (kIsa == Isa::Avx512) return philox_batch_avx512(s.seed, ctr, w);
  if constexpr (kIsa == Isa::Avx2) return philox_batch_avx2(s.seed, ctr, w);
#endif
  philox_batch(s.seed, ctr, w);
}

struct UniformArgs {
  float* out;
  double low, span;
  float below_high;  // largest float below high (or low when low == high)
};
template <Isa kIsa>
[[gnu::always_inline]] inline void uniform_batches(const Stream& s, const UniformArgs& a, int64_t b0, int64_t b1) {
  alignas(64) uint32_t w[kBatch];
  for (int64_t b = b0; b < b1; ++b) {
    next_words<kIsa>(s, b, w);
    const int64_t i0 = b * kBatch, cnt = std::min(kBatch, s.n - i0);
    float* o = a.out + i0;
    for (int64_t k = 0; k < cnt; ++k) {
      const double u = double(int32_t(w[k] >> 8)) * (1.0 / 16777216.0);  // [0, 1), 24 bits
      const auto v = float(a.low + a.span * u);
      o[k] = v > a.below_high ? a.below_high : v;  // float rounding may reach high
    }
  }
}

// log(u) for u in [2^-24, 1], branch-free so the Box-Muller loop vectorizes: u = m * 2^e with
// m in [sqrt(1/2), sqrt(2)), log(m) = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172.
[[gnu::always_inline]] inline float log_unit(float u) {
  uint32_t bits;
  std::memcpy(&bits, &u, 4);
  int32_t e = int32_t(bits >> 23) - 127;
  // m in [1, 2) from the mantissa; above sqrt(2), halve it (exponent bits - 1) and bump e.
  // Integer ops only: a conditional float op would not vectorize under -ftrapping-math.
  uint32_t mbits = (bits & 0x7fffffu) | 0x3f800000u;
  const uint32_t big = mbits > 0x3fb504f3u ? 1u : 0u;  // 0x3fb504f3 = sqrt(2) as a float
  mbits -= big << 23;
  e += int32_t(big);
  float m;
  std::memcpy(&m, &mbits, 4);
  const float t = (m - 1.0f) / (m + 1.0f), t2 = t * t;
  const float p = t * (2.0f + t2 * (2.0f / 3 + t2 * (2.0f / 5 + t2 * (2.0f / 7 + t2 * (2.0f / 9)))));
  return float(e) * 0.693147180559945309f + p;
}

// sin and cos of 2*pi*u with u = (word >> 8) / 2^24 in [0, 1): reduced to a quarter turn
// q/4 plus x in [-pi/4, pi/4], where Taylor polynomials are accurate to float precision.
[[gnu::always_inline]] inline void sincos_turns(uint32_t word, float& sn, float& cs) {
  const int32_t i = int32_t(word >> 8);                   // u * 2^24
  const int32_t q = ((i + (1 << 21)) >> 22) & 3;          // nearest quarter turn, mod 4
  const int32_t rem = i - (((i + (1 << 21)) >> 22) << 22);  // in [-2^21, 2^21)
  const float x = float(rem) * (6.28318530717958647692f / 16777216.0f);
  const float x2 = x * x;
  const float s = x * (1.0f + x2 * (-1.0f / 6 + x2 * (1.0f / 120 + x2 * (-1.0f / 5040 + x2 * (1.0f / 362880)))));
  const float c = 1.0f + x2 * (-0.5f + x2 * (1.0f / 24 + x2 * (-1.0f / 720 + x2 * (1.0f / 40320))));
  // Rotate by q quarter turns: (s, c) -> (c, -s) -> (-s, -c) -> (-c, s).
  const float ns = -s, sign = (q & 2) ? -1.0f : 1.0f;
  sn = sign * ((q & 1) ? c : s);
  cs = sign * ((q & 1) ? ns : c);
}

struct NormalArgs {
  float* out;
  float mean, std;
};
template <Isa kIsa>
[[gnu::always_inline]] inline void normal_batches(const Stream& s, const NormalArgs& a, int64_t b0, int64_t b1) {
  alignas(64) uint32_t w[kBatch];
  alignas(64) float z[kBatch];
  for (int64_t b = b0; b < b1; ++b) {
    next_words<kIsa>(s, b, w);
    // Box-Muller on word pairs (0,1) and (2,3) of each counter: u1 in (0, 1] for the log.
    // Pairs are split into unit-stride arrays first so that every loop vectorizes.
    alignas(64) uint32_t w1[kBatch / 2], w2[kBatch / 2];
    alignas(64) float zc[kBatch / 2], zs[kBatch / 2];
    for (int64_t k = 0; k < kBatch / 2; ++k) {
      w1[k] = w[2 * k];
      w2[k] = w[2 * k + 1];
    }
    for (int64_t k = 0; k < kBatch / 2; ++k) {
      const float u1 = float(int32_t(w1[k] >> 8) + 1) * (1.0f / 16777216.0f);
      const float r = std::sqrt(-2.0f * log_unit(u1));
      float sn, cs;
      sincos_turns(w2[k], sn, cs);
      zc[k] = r * cs;
      zs[k] = r * sn;
    }
    for (int64_t k = 0; k < kBatch / 2; ++k) {
      z[2 * k] = zc[k];
      z[2 * k + 1] = zs[k];
    }
    const int64_t i0 = b * kBatch, cnt = std::min(kBatch, s.n - i0);
    for (int64_t k = 0; k < cnt; ++k) a.out[i0 + k] = a.mean + a.std * z[k];
  }
}

struct DropoutArgs {
  const float* x;
  float* out;
  uint8_t* mask;
  uint32_t threshold;  // keep when word >= threshold ...
  bool drop_all;       // ... unless p = 1
  float scale;
};
template <Isa kIsa>
[[gnu::always_inline]] inline void dropout_batches(const Stream& s, const DropoutArgs& a, int64_t b0, int64_t b1) {
  alignas(64) uint32_t w[kBatch];
  for (int64_t b = b0; b < b1; ++b) {
    next_words<kIsa>(s, b, w);
    const int64_t i0 = b * kBatch, cnt = std::min(kBatch, s.n - i0);
    const float* x = a.x + i0;
    float* o = a.out + i0;
    uint8_t* m = a.mask + i0;
    const uint32_t keep_any = a.drop_all ? 0u : 1u;
    for (int64_t k = 0; k < cnt; ++k) {
      const uint32_t keep = uint32_t(w[k] >= a.threshold) & keep_any;
      m[k] = uint8_t(keep);
      o[k] = x[k] * (keep ? a.scale : 0.0f);  // x * 0 keeps NaN like torch
    }
  }
}

// Each kernel compiled three times; the table is indexed by Isa.
#if defined(__x86_64__)
#define RAVDL_DISPATCH(name, Args)                                                                  \
  RAVDL_AVX512_TARGET void name##_avx512(const Stream& s, const Args& a, int64_t b0, int64_t b1) {   \
    name<Isa::Avx512>(s, a, b0, b1);                                                                \
  }                                                                                                 \
  RAVDL_AVX2_TARGET void name##_avx2(const Stream& s, const Args& a, int64_t b0, int64_t b1) {       \
    name<Isa::Avx2>(s, a, b0, b1);                                                                  \
  }                                                                                                 \
  void name##_portable(const Stream& s, const Args& a, int64_t b0, int64_t b1) {                    \
    name<Isa::Portable>(s, a, b0, b1);                                                              \
  }                                                                                                 \
  constexpr void (*name##_table[3])(const Stream&, const Args&, int64_t, int64_t) = {               \
      name##_portable, name##_avx2, name##_avx512};
#else
#define RAVDL_DISPATCH(name, Args)                                                                  \
  void name##_portable(const Stream& s, const Args& a, int64_t b0, int64_t b1) {                    \
    name<Isa::Portable>(s, a, b0, b1);                                                              \
  }                                                                                                 \
  constexpr void (*name##_table[3])(const Stream&, const Args&, int64_t, int64_t) = {               \
      name##_portable, name##_portable, name##_portable};
#endif
RAVDL_DISPATCH(uniform_batches, UniformArgs)
RAVDL_DISPATCH(normal_batches, NormalArgs)
RAVDL_DISPATCH(dropout_batches, DropoutArgs)
#undef RAVDL_DISPATCH

// Best SIMD level of this CPU, capped by RAVDL_SIMD=portable|avx2 as for the GEMM.
Isa isa() {
  static const Isa level = [] {
#if defined(__x86_64__)
    Isa l = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                    __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl")
                ? Isa::Avx512
            : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? Isa::Avx2
                                                                                : Isa::Portable;
    const char* env = std::getenv("RAVDL_SIMD");
    if (env && std::strcmp(env, "portable") == 0) l = Isa::Portable;
    if (env && std::strcmp(env, "avx2") == 0 && l == Isa::Avx512) l = Isa::Avx2;
    return l;
#else
    return Isa::Portable;
#endif
  }();
  return level;
}

// Runs the batch kernel over every batch covering n elements, `grain` batches per chunk.
template <class Args>
void run_batches(void (*const table[3])(const Stream&, const Args&, int64_t, int64_t), const Stream& s,
                 const Args& a, int64_t grain) {
  auto kernel = table[int(isa())];
  const int64_t batches = (s.n + kBatch - 1) / kBatch;
  parallel_for(batches, grain, [&](int64_t b0, int64_t b1) { kernel(s, a, b0, b1); });
}

}  // namespace

std::array<uint32_t, 4> philox4x32_10(std::array<uint32_t, 4> ctr, std::array<uint32_t, 2> key) {
  uint32_t k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      k0 += kWeyl0;
      k1 += kWeyl1;
    }
    ctr = philox_round(ctr, k0, k1);
  }
  return ctr;
}

int64_t rand_counters(int64_t n) {
  if (n < 0) fail(ErrorCode::Shape, "rand_counters: n must be >= 0, got ", n);
  return n / 4 + (n % 4 != 0);
}

void rand_uniform(FSpan out, double low, double high, int64_t seed, int64_t offset) {
  const char* op = "rand_uniform";
  check_seed(op, seed, offset);
  if (!std::isfinite(low) || !std::isfinite(high) || low > high)
    fail(ErrorCode::Attr, op, ": need finite low <= high, got low ", low, ", high ", high);
  const auto lo = float(low), hi = float(high);
  UniformArgs a{out.data, low, high - low, lo < hi ? std::nextafter(hi, lo) : lo};
  run_batches(uniform_batches_table, Stream{uint64_t(seed), uint64_t(offset), int64_t(out.size)}, a, 128);
}

void rand_normal(FSpan out, double mean, double std, int64_t seed, int64_t offset) {
  const char* op = "rand_normal";
  check_seed(op, seed, offset);
  if (!std::isfinite(mean) || !std::isfinite(std) || std < 0)
    fail(ErrorCode::Attr, op, ": need finite mean and std >= 0, got mean ", mean, ", std ", std);
  NormalArgs a{out.data, float(mean), float(std)};
  run_batches(normal_batches_table, Stream{uint64_t(seed), uint64_t(offset), int64_t(out.size)}, a, 32);
}

void dropout(Span<const float> x, FSpan out, Span<uint8_t> mask, double p, int64_t seed,
             int64_t offset) {
  const char* op = "dropout";
  check_seed(op, seed, offset);
  if (!(p >= 0.0 && p <= 1.0)) fail(ErrorCode::Attr, op, ": p must be in [0, 1], got ", p);
  if (out.size != x.size)
    fail(ErrorCode::Shape, op, ": out has ", out.size, " elements but x has ", x.size);
  if (mask.size != x.size)
    fail(ErrorCode::Shape, op, ": mask has ", mask.size, " elements but x has ", x.size);
  if (out.data != x.data) check_no_alias(op, "out", out.data, out.size, "x", x.data, x.size);
  check_no_alias(op, "mask", mask.data, mask.size, "x", x.data, x.size);
  check_no_alias(op, "mask", mask.data, mask.size, "out", out.data, out.size);
  // Keep element i when its 32-bit word w >= p * 2^32 (probability 1 - p): for integer w that
  // is w >= ceil(p * 2^32); p = 1 gives 2^32, which no word reaches.
  const double t = std::ceil(p * 4294967296.0);
  DropoutArgs a{x.data, out.data, mask.data, t >= 4294967296.0 ? 0u : uint32_t(t), t >= 4294967296.0,
                p < 1.0 ? float(1.0 / (1.0 - p)) : 0.0f};
  run_batches(dropout_batches_table, Stream{uint64_t(seed), uint64_t(offset), int64_t(x.size)}, a, 128);
}

void dropout_backward(Span<const float> gy, Span<const uint8_t> mask, double p, FSpan gx) {
  const char* op = "dropout_backward";
  if (!(p >= 0.0 && p <= 1.0)) fail(ErrorCode::Attr, op, ": p must be in [0, 1], got ", p);
  if (mask.size != gy.size)
    fail(ErrorCode::Shape, op, ": mask has ", mask.size, " elements but gy has ", gy.size);
  if (gx.size != gy.size)
    fail(ErrorCode::Shape, op, ": gx has ", gx.size, " elements but gy has ", gy.size);
  if (gx.data != gy.data) check_no_alias(op, "gx", gx.data, gx.size, "gy", gy.data, gy.size);
  check_no_alias(op, "gx", gx.data, gx.size, "mask", mask.data, mask.size);
  const float scale = p < 1.0 ? static_cast<float>(1.0 / (1.0 - p)) : 0.0f;
  const float* g = gy.data;
  const uint8_t* mk = mask.data;
  float* o = gx.data;
  parallel_for(static_cast<int64_t>(gy.size), 32768, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) o[i] = g[i] * (mk[i] ? scale : 0.0f);
  });
}

}  // namespace ravdl
