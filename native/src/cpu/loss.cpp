// Fused softmax cross-entropy (class-index or probability targets) and mean squared error.
// Logits (N, C, d1, ...) are seen as N blocks of C x D (D = d1*...); a position (n, d) owns C
// values at stride D. Per-position losses are summed serially in double so that mean/sum do
// not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "ravdl/loss.h"
#include "ravdl/parallel.h"
#include "ravdl/softmax.h"

namespace ravdl {
namespace {

using detail::exp_approx;

struct Positions {
  int64_t n = 0, c = 0, d = 1;
  int64_t count() const { return n * d; }
};

Positions positions(const char* op, const Shape& s) {
  if (s.size() < 2)
    fail(ErrorCode::Shape, op, ": logits must be (N, C) or (N, C, d1, ...), got ", shape_str(s));
  Positions p{s[0], s[1], 1};
  for (size_t i = 2; i < s.size(); ++i) p.d *= s[i];
  return p;
}

void check_attrs(const char* op, const CrossEntropyAttrs& a) {
  if (!(a.label_smoothing >= 0 && a.label_smoothing <= 1))
    fail(ErrorCode::Attr, op, ": label_smoothing must be in [0, 1], got ", a.label_smoothing);
}

Span<const float> check_weight(const char* op, OptCF w, int64_t c) {
  if (!w) return {};
  if (static_cast<int64_t>(w->size) != c)
    fail(ErrorCode::Shape, op, ": weight has ", w->size, " elements but logits have ", c,
         " classes");
  return *w;
}

size_t loss_count(Reduction r, int64_t positions) {
  return r == Reduction::None ? size_t(positions) : 1;
}

void check_out(const char* op, const char* name, size_t got, Reduction r, int64_t positions) {
  size_t want = loss_count(r, positions);
  if (got != want)
    fail(ErrorCode::Shape, op, ": ", name, " has ", got, " elements but needs ", want,
         r == Reduction::None ? " (one per position)" : " (a scalar)");
}

// Validates class-index targets; ERR_INDEX names the first bad label and its position.
void check_labels(const char* op, const Positions& p, Span<const int32_t> t, int64_t ignore) {
  if (static_cast<int64_t>(t.size) != p.count())
    fail(ErrorCode::Shape, op, ": target has ", t.size, " elements but logits need ", p.count(),
         " (N * d1 * ...)");
  for (int64_t i = 0; i < p.count(); ++i) {
    int64_t v = t.data[i];
    if (v != ignore && (v < 0 || v >= p.c))
      fail(ErrorCode::Index, op, ": target ", v, " at position ", i, " is out of range [0, ", p.c,
           ") and is not ignore_index ", ignore);
  }
}

// max and log(sum(exp(z - max))) of the C logits of one position.
template <bool Unit>
void lse(const float* z, int64_t c, int64_t stride, float& m, float& log_sum) {
  if (Unit) {  // contiguous: the shared (SIMD) row kernels
    m = detail::row_max(z, c, 1.f);
    log_sum = std::log(detail::row_expsum(z, c, 1.f, m, nullptr));
    return;
  }
  auto at = [&](int64_t k) { return Unit ? z[k] : z[k * stride]; };
  float mx = -INFINITY;
  for (int64_t k = 0; k < c; ++k) mx = std::max(mx, at(k));
  float acc[8] = {};
  int64_t k = 0;
  for (; k + 8 <= c; k += 8)
    for (int q = 0; q < 8; ++q) acc[q] += exp_approx(at(k + q) - mx);
  float s = 0;
  for (; k < c; ++k) s += exp_approx(at(k) - mx);
  for (int q = 0; q < 8; ++q) s += acc[q];
  m = mx;
  log_sum = std::log(s);
}

// Runs fn(position, logits pointer, stride) over all positions in parallel.
template <class F>
void for_positions(const Positions& p, const float* base, const F& fn) {
  int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, p.c));
  parallel_for(p.count(), grain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      int64_t n = i / p.d, d = i % p.d;
      fn(i, base + n * p.c * p.d + d, p.d);
    }
  });
}

// Writes per-position losses (already weighted) to `out` per the reduction; `denom` for mean.
// (Index targets: both the nll and the smoothing term divide by the same denominator.)
void reduce(const std::vector<float>& per, double denom, Reduction r, float* out) {
  if (r == Reduction::None) {
    std::copy(per.begin(), per.end(), out);
    return;
  }
  double s = 0;
  for (float v : per) s += v;
  out[0] = float(r == Reduction::Mean ? s / denom : s);
}

// Scales of the loss gradient at position i: grad_loss * 1/denom (mean), grad_loss (sum) or
// grad_loss[i] (none).
struct GradScale {
  Reduction r;
  const float* g;
  double inv;
  float at(int64_t i) const { return r == Reduction::None ? g[i] : float(g[0] * inv); }
};

}  // namespace

Reduction parse_reduction(const char* op, const std::string& s) {
  if (s == "mean") return Reduction::Mean;
  if (s == "sum") return Reduction::Sum;
  if (s == "none") return Reduction::None;
  fail(ErrorCode::Attr, op, ": reduction must be 'mean', 'sum' or 'none', got '", s, "'");
}

Shape cross_entropy_shape(const Shape& logits_shape, Reduction r) {
  positions("cross_entropy_shape", logits_shape);
  numel(logits_shape);
  if (r != Reduction::None) return {};
  Shape s{logits_shape[0]};
  s.insert(s.end(), logits_shape.begin() + 2, logits_shape.end());
  return s;
}

Shape mse_loss_shape(const Shape& pred_shape, Reduction r) {
  numel(pred_shape);
  return r == Reduction::None ? pred_shape : Shape{};
}

// ---- class-index targets ----

namespace {
double class_weight_total(Span<const float> w, int64_t c) {
  if (!w.data) return double(c);
  double s = 0;
  for (int64_t k = 0; k < c; ++k) s += w.data[k];
  return s;
}
}  // namespace

void cross_entropy_forward(CFView logits, Span<const int32_t> target, OptCF weight, FSpan out,
                           const CrossEntropyAttrs& a) {
  const char* op = "cross_entropy";
  Positions p = positions(op, logits.shape);
  check_attrs(op, a);
  Span<const float> w = check_weight(op, weight, p.c);
  check_labels(op, p, target, a.ignore_index);
  check_out(op, "out", out.size, a.reduction, p.count());
  check_no_alias(op, "out", out.data, out.size, "logits", logits.data, size_t(logits.numel()));
  check_no_alias(op, "out", out.data, out.size, "target", target.data, target.size);
  if (w.data) check_no_alias(op, "out", out.data, out.size, "weight", w.data, w.size);
  const int64_t np = p.count();
  const float eps = float(a.label_smoothing);
  std::vector<float> nll(np), smooth(eps > 0 ? np : 0);
  for_positions(p, logits.data, [&](int64_t i, const float* z, int64_t st) {
    int64_t t = target.data[i];
    if (t == a.ignore_index) {
      nll[i] = 0;
      if (eps > 0) smooth[i] = 0;
      return;
    }
    float m, ls;
    if (st == 1) lse<true>(z, p.c, st, m, ls);
    else lse<false>(z, p.c, st, m, ls);
    // logp_k = (z_k - m) - ls: subtracting m first keeps small log-probs of large logits exact
    nll[i] = -(w.data ? w.data[t] : 1.f) * ((z[t * st] - m) - ls);
    if (eps > 0) {
      double s = 0;
      for (int64_t k = 0; k < p.c; ++k)
        s += double(w.data ? w.data[k] : 1.f) * ((z[k * st] - m) - ls);
      smooth[i] = float(-s);
    }
  });
  double wsum = 0;
  int64_t valid = 0;
  for (int64_t i = 0; i < np; ++i) {
    int64_t t = target.data[i];
    if (t == a.ignore_index) continue;
    ++valid;
    wsum += w.data ? w.data[t] : 1.0;
  }
  double denom = w.data ? wsum : double(valid);
  if (eps == 0) {
    reduce(nll, denom, a.reduction, out.data);
    return;
  }
  std::vector<float> r1(out.size), r2(out.size);
  reduce(nll, denom, a.reduction, r1.data());
  reduce(smooth, denom, a.reduction, r2.data());
  for (size_t i = 0; i < out.size; ++i)
    out.data[i] = (1 - eps) * r1[i] + (eps / float(p.c)) * r2[i];
}

void cross_entropy_backward(CFView logits, Span<const int32_t> target, OptCF weight,
                            Span<const float> grad_loss, FSpan grad_logits,
                            const CrossEntropyAttrs& a) {
  const char* op = "cross_entropy_backward";
  Positions p = positions(op, logits.shape);
  check_attrs(op, a);
  Span<const float> w = check_weight(op, weight, p.c);
  check_labels(op, p, target, a.ignore_index);
  check_out(op, "grad_loss", grad_loss.size, a.reduction, p.count());
  FView gz = out_view(op, "grad_logits", grad_logits, logits.shape);
  size_t total = grad_logits.size;
  check_no_alias(op, "grad_logits", gz.data, total, "logits", logits.data, total);
  check_no_alias(op, "grad_logits", gz.data, total, "grad_loss", grad_loss.data, grad_loss.size);
  check_no_alias(op, "grad_logits", gz.data, total, "target", target.data, target.size);
  if (w.data) check_no_alias(op, "grad_logits", gz.data, total, "weight", w.data, w.size);
  const int64_t np = p.count();
  if (np == 0 || p.c == 0) return;
  double wsum = 0;
  int64_t valid = 0;
  for (int64_t i = 0; i < np; ++i) {
    int64_t t = target.data[i];
    if (t == a.ignore_index) continue;
    ++valid;
    wsum += w.data ? w.data[t] : 1.0;
  }
  const float eps = float(a.label_smoothing);
  double inv = a.reduction == Reduction::Sum ? 1.0 : 1.0 / (w.data ? wsum : double(valid));
  GradScale scale{a.reduction, grad_loss.data, inv};
  const float wtot = float(class_weight_total(w, p.c));
  const float ce = eps / float(p.c);
  for_positions(p, logits.data, [&](int64_t i, const float* z, int64_t st) {
    float* g = gz.data + (z - logits.data);
    int64_t t = target.data[i];
    if (t == a.ignore_index) {
      for (int64_t k = 0; k < p.c; ++k) g[k * st] = 0;
      return;
    }
    // d/dz_k = a1 (p_k - [k==t]) + a2 (W p_k - w_k), a1 = s (1-eps) w_t, a2 = s eps/C
    float s = scale.at(i);
    float a1 = s * (1 - eps) * (w.data ? w.data[t] : 1.f);
    float a2 = s * ce;
    float pc = a1 + a2 * wtot;
    if (st == 1) {  // exps written straight into g, then scaled by 1/sum
      float m = detail::row_max(z, p.c, 1.f);
      float k1 = pc / detail::row_expsum(z, p.c, 1.f, m, g);
      if (eps > 0 && w.data)
        for (int64_t k = 0; k < p.c; ++k) g[k] = k1 * g[k] - a2 * w.data[k];
      else
        for (int64_t k = 0; k < p.c; ++k) g[k] = k1 * g[k] - a2;  // a2 = 0 without smoothing
    } else {
      float m, ls;
      lse<false>(z, p.c, st, m, ls);
      float off = m + ls;
      for (int64_t k = 0; k < p.c; ++k) {
        float pk = exp_approx(z[k * st] - off);
        g[k * st] = pc * pk - (eps > 0 ? a2 * (w.data ? w.data[k] : 1.f) : 0.f);
      }
    }
    g[t * st] -= a1;
  });
}

// ---- probability targets ----

namespace {
void check_prob_target(const char* op, CFView logits, Span<const float> t) {
  if (static_cast<int64_t>(t.size) != logits.numel())
    fail(ErrorCode::Shape, op, ": probability target has ", t.size, " elements but logits ",
         shape_str(logits.shape), " have ", logits.numel());
}
}  // namespace

void cross_entropy_prob_forward(CFView logits, Span<const float> target, OptCF weight, FSpan out,
                                const CrossEntropyAttrs& a) {
  const char* op = "cross_entropy";
  Positions p = positions(op, logits.shape);
  check_attrs(op, a);
  Span<const float> w = check_weight(op, weight, p.c);
  check_prob_target(op, logits, target);
  check_out(op, "out", out.size, a.reduction, p.count());
  size_t total = size_t(logits.numel());
  check_no_alias(op, "out", out.data, out.size, "logits", logits.data, total);
  check_no_alias(op, "out", out.data, out.size, "target", target.data, total);
  if (w.data) check_no_alias(op, "out", out.data, out.size, "weight", w.data, w.size);
  const float eps = float(a.label_smoothing), u = eps / float(std::max<int64_t>(1, p.c));
  std::vector<float> per(p.count());
  for_positions(p, logits.data, [&](int64_t i, const float* z, int64_t st) {
    const float* q = target.data + (z - logits.data);
    float m, ls;
    if (st == 1) lse<true>(z, p.c, st, m, ls);
    else lse<false>(z, p.c, st, m, ls);
    float off = m + ls;
    double s = 0;
    for (int64_t k = 0; k < p.c; ++k) {
      float qk = q[k * st] * (1 - eps) + u;
      s += double(w.data ? w.data[k] : 1.f) * qk * (z[k * st] - off);
    }
    per[i] = float(-s);
  });
  reduce(per, double(p.count()), a.reduction, out.data);
}

void cross_entropy_prob_backward(CFView logits, Span<const float> target, OptCF weight,
                                 Span<const float> grad_loss, FSpan grad_logits,
                                 const CrossEntropyAttrs& a) {
  const char* op = "cross_entropy_backward";
  Positions p = positions(op, logits.shape);
  check_attrs(op, a);
  Span<const float> w = check_weight(op, weight, p.c);
  check_prob_target(op, logits, target);
  check_out(op, "grad_loss", grad_loss.size, a.reduction, p.count());
  FView gz = out_view(op, "grad_logits", grad_logits, logits.shape);
  size_t total = grad_logits.size;
  check_no_alias(op, "grad_logits", gz.data, total, "logits", logits.data, total);
  check_no_alias(op, "grad_logits", gz.data, total, "target", target.data, total);
  check_no_alias(op, "grad_logits", gz.data, total, "grad_loss", grad_loss.data, grad_loss.size);
  if (w.data) check_no_alias(op, "grad_logits", gz.data, total, "weight", w.data, w.size);
  if (p.count() == 0 || p.c == 0) return;
  const float eps = float(a.label_smoothing), u = eps / float(p.c);
  GradScale sc{a.reduction, grad_loss.data,
               a.reduction == Reduction::Mean ? 1.0 / double(p.count()) : 1.0};
  for_positions(p, logits.data, [&](int64_t i, const float* z, int64_t st) {
    int64_t off0 = z - logits.data;
    const float* q = target.data + off0;
    float* g = gz.data + off0;
    float m, ls;
    if (st == 1) lse<true>(z, p.c, st, m, ls);
    else lse<false>(z, p.c, st, m, ls);
    float off = m + ls;
    // loss = -sum_k w_k q_k logp_k  =>  d/dz_j = p_j * sum_k w_k q_k - w_j q_j
    double wq = 0;
    for (int64_t k = 0; k < p.c; ++k)
      wq += double(w.data ? w.data[k] : 1.f) * (q[k * st] * (1 - eps) + u);
    float s = sc.at(i), swq = float(wq) * s;
    for (int64_t k = 0; k < p.c; ++k) {
      float qk = q[k * st] * (1 - eps) + u;
      g[k * st] = swq * exp_approx(z[k * st] - off) - s * (w.data ? w.data[k] : 1.f) * qk;
    }
  });
}

// ---- mean squared error ----

namespace {
constexpr int64_t kBlock = 4096;  // fixed reduction blocks: results independent of threads
void check_mse(const char* op, Span<const float> pred, Span<const float> target) {
  if (pred.size != target.size)
    fail(ErrorCode::Shape, op, ": pred has ", pred.size, " elements but target has ", target.size);
}
}  // namespace

void mse_loss_forward(Span<const float> pred, Span<const float> target, FSpan out, Reduction r) {
  const char* op = "mse_loss";
  check_mse(op, pred, target);
  int64_t n = int64_t(pred.size);
  check_out(op, "out", out.size, r, n);
  check_no_alias(op, "out", out.data, out.size, "target", target.data, target.size);
  if (r != Reduction::None)  // none is elementwise: out may be pred itself
    check_no_alias(op, "out", out.data, out.size, "pred", pred.data, pred.size);
  else
    detail::check_same_or_disjoint(op, "out", out.data, out.size, "pred", pred.data, pred.size);
  if (r == Reduction::None) {
    parallel_for(n, 65536, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        float d = pred.data[i] - target.data[i];
        out.data[i] = d * d;
      }
    });
    return;
  }
  int64_t nb = (n + kBlock - 1) / kBlock;
  std::vector<double> part(nb);
  parallel_for(nb, 16, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      int64_t i0 = b * kBlock, i1 = std::min(n, i0 + kBlock);
      float acc[16] = {};
      int64_t i = i0;
      for (; i + 16 <= i1; i += 16)
        for (int q = 0; q < 16; ++q) {
          float d = pred.data[i + q] - target.data[i + q];
          acc[q] += d * d;
        }
      double s = 0;
      for (; i < i1; ++i) s += double(pred.data[i] - target.data[i]) * (pred.data[i] - target.data[i]);
      for (int q = 0; q < 16; ++q) s += acc[q];
      part[b] = s;
    }
  });
  double s = 0;
  for (double v : part) s += v;
  out.data[0] = float(r == Reduction::Mean ? s / double(n) : s);
}

void mse_loss_backward(Span<const float> pred, Span<const float> target,
                       Span<const float> grad_loss, OptF grad_pred, OptF grad_target, Reduction r) {
  const char* op = "mse_loss_backward";
  check_mse(op, pred, target);
  int64_t n = int64_t(pred.size);
  check_out(op, "grad_loss", grad_loss.size, r, n);
  for (OptF* o : {&grad_pred, &grad_target}) {
    if (!*o) continue;
    const char* name = o == &grad_pred ? "grad_pred" : "grad_target";
    if ((*o)->size != pred.size)
      fail(ErrorCode::Shape, op, ": ", name, " has ", (*o)->size, " elements but pred has ",
           pred.size);
    // Elementwise: a gradient may overwrite pred, target or grad_loss (none) exactly.
    detail::check_same_or_disjoint(op, name, (*o)->data, (*o)->size, "pred", pred.data, pred.size);
    detail::check_same_or_disjoint(op, name, (*o)->data, (*o)->size, "target", target.data,
                                   target.size);
    detail::check_same_or_disjoint(op, name, (*o)->data, (*o)->size, "grad_loss", grad_loss.data,
                                   grad_loss.size);
  }
  if (grad_pred && grad_target)
    check_no_alias(op, "grad_pred", grad_pred->data, grad_pred->size, "grad_target",
                   grad_target->data, grad_target->size);
  float* gp = grad_pred ? grad_pred->data : nullptr;
  float* gt = grad_target ? grad_target->data : nullptr;
  float k = r == Reduction::Mean ? float(2.0 / double(n)) : 2.f;
  parallel_for(n, 65536, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      float g = (r == Reduction::None ? grad_loss.data[i] : grad_loss.data[0]) * k;
      float v = g * (pred.data[i] - target.data[i]);
      if (gp) gp[i] = v;
      if (gt) gt[i] = -v;
    }
  });
}

}  // namespace ravdl
