#include <algorithm>
#include <cmath>
#include <vector>

#include "check.h"
#include "ravdl/optim.h"

using namespace ravdl;

namespace {

// A deterministic pseudo-gradient for element i at step t.
float grad_at(size_t i, int t) { return std::sin(float(i) * 0.7f + float(t) * 1.3f) * (1.0f + float(i % 3)); }

double worst(const std::vector<float>& a, const std::vector<double>& b) {
  double w = 0;
  for (size_t i = 0; i < a.size(); ++i) w = std::max(w, std::fabs(a[i] - b[i]) / (1.0 + std::fabs(b[i])));
  return w;
}

}  // namespace

TEST_CASE("adam_step matches a double-precision reference for Adam, AdamW and AMSGrad") {
  const size_t n = 20000;  // large enough to run in parallel chunks
  for (int variant = 0; variant < 4; ++variant) {
    AdamOptions o;
    o.lr = 0.01;
    o.beta1 = 0.8;
    o.beta2 = 0.95;
    o.eps = 1e-6;
    o.weight_decay = variant == 0 ? 0.0 : 0.1;
    o.decoupled_weight_decay = variant >= 2;
    o.amsgrad = variant % 2 == 1;
    o.maximize = variant == 3;
    std::vector<float> p(n), m(n, 0), v(n, 0), vmax(n, 0), g(n);
    std::vector<double> rp(n), rm(n, 0), rv(n, 0), rvmax(n, 0);
    for (size_t i = 0; i < n; ++i) p[i] = float(rp[i] = std::cos(double(i)));
    for (int t = 1; t <= 20; ++t) {
      for (size_t i = 0; i < n; ++i) g[i] = grad_at(i, t);
      adam_step({p.data(), n}, {g.data(), n}, {m.data(), n}, {v.data(), n},
                o.amsgrad ? FSpan{vmax.data(), n} : FSpan{}, t, o);
      for (size_t i = 0; i < n; ++i) {
        double gi = o.maximize ? -g[i] : g[i];
        if (o.decoupled_weight_decay) rp[i] *= 1 - o.lr * o.weight_decay;
        else gi += o.weight_decay * rp[i];
        rm[i] = o.beta1 * rm[i] + (1 - o.beta1) * gi;
        rv[i] = o.beta2 * rv[i] + (1 - o.beta2) * gi * gi;
        rvmax[i] = std::max(rvmax[i], rv[i]);
        double vhat = (o.amsgrad ? rvmax[i] : rv[i]) / (1 - std::pow(o.beta2, t));
        rp[i] -= o.lr / (1 - std::pow(o.beta1, t)) * rm[i] / (std::sqrt(vhat) + o.eps);
      }
    }
    CHECK(worst(p, rp) < 2e-5);
    CHECK(worst(m, rm) < 2e-5);
    CHECK(worst(v, rv) < 2e-5);
    if (o.amsgrad) CHECK(worst(vmax, rvmax) < 2e-5);
  }
}

TEST_CASE("rmsprop_step matches a double-precision reference") {
  const size_t n = 1000;
  for (int variant = 0; variant < 4; ++variant) {
    RmspropOptions o;
    o.lr = 0.01;
    o.alpha = 0.9;
    o.eps = 1e-3;
    o.centered = variant % 2 == 1;
    o.momentum = variant >= 2 ? 0.5 : 0.0;
    o.weight_decay = variant == 3 ? 0.05 : 0.0;
    std::vector<float> p(n), sq(n, 0), buf(n, 0), ga(n, 0), g(n);
    std::vector<double> rp(n), rsq(n, 0), rbuf(n, 0), rga(n, 0);
    for (size_t i = 0; i < n; ++i) p[i] = float(rp[i] = std::cos(double(i)));
    for (int t = 1; t <= 20; ++t) {
      for (size_t i = 0; i < n; ++i) g[i] = grad_at(i, t);
      rmsprop_step({p.data(), n}, {g.data(), n}, {sq.data(), n}, {buf.data(), n}, {ga.data(), n}, o);
      for (size_t i = 0; i < n; ++i) {
        double gi = g[i] + o.weight_decay * rp[i];
        rsq[i] = o.alpha * rsq[i] + (1 - o.alpha) * gi * gi;
        double var = rsq[i];
        if (o.centered) {
          rga[i] = o.alpha * rga[i] + (1 - o.alpha) * gi;
          var -= rga[i] * rga[i];
        }
        double step = gi / (std::sqrt(var) + o.eps);
        if (o.momentum > 0) step = rbuf[i] = o.momentum * rbuf[i] + step;
        rp[i] -= o.lr * step;
      }
    }
    CHECK(worst(p, rp) < 2e-5);
    CHECK(worst(sq, rsq) < 2e-5);
  }
}

TEST_CASE("sgd_step matches a reference, with the momentum buffer seeded on step 1") {
  const size_t n = 1000;
  for (int variant = 0; variant < 4; ++variant) {
    SgdOptions o;
    o.lr = 0.05;
    o.momentum = variant == 0 ? 0.0 : 0.9;
    o.dampening = variant == 2 ? 0.3 : 0.0;
    o.nesterov = variant == 3;
    o.weight_decay = variant >= 2 ? 0.01 : 0.0;
    std::vector<float> p(n), buf(n, 99.0f), g(n);  // buf garbage: step 1 must overwrite it
    std::vector<double> rp(n), rbuf(n, 0);
    for (size_t i = 0; i < n; ++i) p[i] = float(rp[i] = std::cos(double(i)));
    for (int t = 1; t <= 20; ++t) {
      for (size_t i = 0; i < n; ++i) g[i] = grad_at(i, t);
      sgd_step({p.data(), n}, {g.data(), n}, o.momentum != 0 ? FSpan{buf.data(), n} : FSpan{}, t, o);
      for (size_t i = 0; i < n; ++i) {
        double d = g[i] + o.weight_decay * rp[i];
        if (o.momentum != 0) {
          rbuf[i] = t == 1 ? d : o.momentum * rbuf[i] + (1 - o.dampening) * d;
          d = o.nesterov ? d + o.momentum * rbuf[i] : rbuf[i];
        }
        rp[i] -= o.lr * d;
      }
    }
    CHECK(worst(p, rp) < 2e-5);
  }
}

TEST_CASE("optimizers validate hyper-parameters, buffers and aliasing") {
  std::vector<float> p(4), g(4), a(4), b(4), c(4);
  AdamOptions ao;
  ao.beta1 = 1.0;
  CHECK_THROWS_CODE(adam_step({p.data(), 4}, {g.data(), 4}, {a.data(), 4}, {b.data(), 4}, {}, 1, ao), ErrorCode::Attr);
  ao = {};
  ao.lr = -1;
  CHECK_THROWS_CODE(adam_step({p.data(), 4}, {g.data(), 4}, {a.data(), 4}, {b.data(), 4}, {}, 1, ao), ErrorCode::Attr);
  ao = {};
  CHECK_THROWS_CODE(adam_step({p.data(), 4}, {g.data(), 4}, {a.data(), 4}, {b.data(), 4}, {}, 0, ao), ErrorCode::Attr);
  CHECK_THROWS_CODE(adam_step({p.data(), 4}, {g.data(), 4}, {a.data(), 3}, {b.data(), 4}, {}, 1, ao), ErrorCode::Shape);
  CHECK_THROWS_CODE(adam_step({p.data(), 4}, {g.data(), 4}, {p.data(), 4}, {b.data(), 4}, {}, 1, ao), ErrorCode::Arg);
  ao.amsgrad = true;
  CHECK_THROWS_CODE(adam_step({p.data(), 4}, {g.data(), 4}, {a.data(), 4}, {b.data(), 4}, {}, 1, ao), ErrorCode::Arg);
  RmspropOptions ro;
  ro.eps = -1;
  CHECK_THROWS_CODE(rmsprop_step({p.data(), 4}, {g.data(), 4}, {a.data(), 4}, {}, {}, ro), ErrorCode::Attr);
  ro = {};
  ro.centered = true;
  CHECK_THROWS_CODE(rmsprop_step({p.data(), 4}, {g.data(), 4}, {a.data(), 4}, {}, {}, ro), ErrorCode::Arg);
  SgdOptions so;
  so.nesterov = true;
  CHECK_THROWS_CODE(sgd_step({p.data(), 4}, {g.data(), 4}, {}, 1, so), ErrorCode::Attr);
  so = {};
  so.momentum = 0.9;
  CHECK_THROWS_CODE(sgd_step({p.data(), 4}, {g.data(), 4}, {}, 1, so), ErrorCode::Arg);
  CHECK_THROWS_CODE(sgd_step({p.data(), 4}, {g.data(), 4}, {c.data(), 5}, 1, so), ErrorCode::Shape);
  so.momentum = NAN;
  CHECK_THROWS_CODE(sgd_step({p.data(), 4}, {g.data(), 4}, {c.data(), 4}, 1, so), ErrorCode::Attr);
}
