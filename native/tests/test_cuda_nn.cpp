// CUDA batch norm, layer norm, losses (cross-entropy with every option, MSE), embedding,
// dropout / uniform (the CPU's Philox stream: exact) and the fused optimizer updates (exact:
// the same float operations in the same order) against the CPU kernels.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "ravdl/embedding.h"
#include "ravdl/loss.h"
#include "ravdl/norm.h"
#include "ravdl/optim.h"
#include "ravdl/random.h"
#include "test_cuda_util.h"

namespace ravdl::cudatest {

namespace {
OptCF opt(const std::vector<float>& v) { return v.empty() ? std::nullopt : OptCF(Span<const float>{v.data(), v.size()}); }
OptF optw(std::vector<float>& v) { return v.empty() ? std::nullopt : OptF(Span<float>{v.data(), v.size()}); }
HostT in_or_none(const std::vector<float>& v, Shape s) { return v.empty() ? HostT::None() : HostT::F(v, std::move(s)); }
}  // namespace

void test_norm() {
  struct Bn {
    Shape x;
    bool training, affine, running;
  };
  const Bn bns[] = {{{8, 5}, true, true, true}, {{4, 3, 10}, true, false, true}, {{4, 6, 7, 9}, true, true, true},
                    {{4, 6, 7, 9}, false, true, true}, {{2, 4, 5, 5}, true, true, false}, {{64, 32, 8, 8}, true, true, true}};
  for (auto& b : bns) {
    const int64_t C = b.x[1];
    const std::string label = "batch_norm " + str(b.x) + (b.training ? " training" : " eval") + (b.affine ? "" : " no affine") +
                              (b.running ? "" : " no running stats");
    std::vector<float> x = random_vec(numel(b.x), -2, 3);
    std::vector<float> gamma = b.affine ? random_vec(C, 0.5f, 1.5f) : std::vector<float>{};
    std::vector<float> beta = b.affine ? random_vec(C) : std::vector<float>{};
    std::vector<float> rm = b.running ? random_vec(C) : std::vector<float>{};
    std::vector<float> rv = b.running ? random_vec(C, 0.5f, 2.0f) : std::vector<float>{};
    std::vector<float> rm0 = rm, rv0 = rv, y(x.size()), sm(static_cast<size_t>(C)), si(static_cast<size_t>(C));
    BatchNormAttrs a;
    a.training = b.training;
    a.momentum = 0.1;
    a.eps = 1e-5;
    batch_norm_forward(CFView{x.data(), b.x}, opt(gamma), opt(beta), optw(rm), optw(rv), {y.data(), y.size()}, OptF(FSpan{sm.data(), sm.size()}),
                       OptF(FSpan{si.data(), si.size()}), a);
    std::vector<float> gy = random_vec(numel(b.x)), gx(x.size()), gg(static_cast<size_t>(C)), gb(static_cast<size_t>(C));
    batch_norm_backward(CFView{gy.data(), b.x}, CFView{x.data(), b.x}, opt(gamma), {sm.data(), sm.size()}, {si.data(), si.size()}, b.training,
                        OptF(FSpan{gx.data(), gx.size()}), OptF(FSpan{gg.data(), gg.size()}), OptF(FSpan{gb.data(), gb.size()}));
    Attrs at;
    at.set("training", b.training ? 1 : 0).set("momentum", 0.1).set("eps", 1e-5);
    const Shape stat = b.running ? Shape{C} : Shape{0};
    try {
      auto r = run_cuda("batch_norm", {HostT::F(x, b.x), in_or_none(gamma, {C}), in_or_none(beta, {C}), in_or_none(rm0, {C}), in_or_none(rv0, {C})},
                        {HostT::Out(b.x), HostT::Out({C}), HostT::Out({C}), HostT::Out(stat), HostT::Out(stat)}, at);
      expect_close(label + " y", y, r[0].f, 1e-5, 1e-5);
      expect_close(label + " save_mean", sm, r[1].f, 1e-6, 1e-6);
      expect_close(label + " save_invstd", si, r[2].f, 1e-6, 1e-5);
      if (b.running) {
        expect_close(label + " running_mean", rm, r[3].f, 1e-6, 1e-6);
        expect_close(label + " running_var", rv, r[4].f, 1e-6, 1e-5);
      }
      Attrs ab;
      ab.set("training", b.training ? 1 : 0);
      auto rb = run_cuda("batch_norm_backward", {HostT::F(gy, b.x), HostT::F(x, b.x), in_or_none(gamma, {C}), HostT::F(sm, {C}), HostT::F(si, {C})},
                         {HostT::Out(b.x), HostT::Out({C}), HostT::Out({C})}, ab);
      expect_close(label + " backward gx", gx, rb[0].f, 1e-5, 1e-4);
      expect_close(label + " backward gweight", gg, rb[1].f, 1e-4, 1e-5);
      expect_close(label + " backward gbias", gb, rb[2].f, 1e-4, 1e-5);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }

  struct Ln {
    Shape x, ns;
    bool affine;
  };
  const Ln lns[] = {{{4, 10}, {10}, true}, {{3, 5, 16}, {16}, false}, {{2, 3, 4, 5}, {4, 5}, true}, {{64, 1024}, {1024}, true}, {{7, 1}, {1}, true}};
  for (auto& l : lns) {
    const int64_t D = numel(l.ns), M = numel(l.x) / D;
    Shape stat(l.x.begin(), l.x.end() - static_cast<int64_t>(l.ns.size()));
    const std::string label = "layer_norm " + str(l.x) + " over " + str(l.ns) + (l.affine ? "" : " no affine");
    std::vector<float> x = random_vec(numel(l.x), -2, 3), w = l.affine ? random_vec(D, 0.5f, 1.5f) : std::vector<float>{},
                       b = l.affine ? random_vec(D) : std::vector<float>{};
    std::vector<float> y(x.size()), mean(static_cast<size_t>(M)), rstd(static_cast<size_t>(M));
    layer_norm_forward(CFView{x.data(), l.x}, l.ns, opt(w), opt(b), {y.data(), y.size()}, OptF(FSpan{mean.data(), mean.size()}),
                       OptF(FSpan{rstd.data(), rstd.size()}), 1e-5);
    std::vector<float> gy = random_vec(numel(l.x)), gx(x.size()), gw(static_cast<size_t>(D)), gb(static_cast<size_t>(D));
    layer_norm_backward(CFView{gy.data(), l.x}, CFView{x.data(), l.x}, l.ns, {mean.data(), mean.size()}, {rstd.data(), rstd.size()}, opt(w),
                        OptF(FSpan{gx.data(), gx.size()}), OptF(FSpan{gw.data(), gw.size()}), OptF(FSpan{gb.data(), gb.size()}));
    Attrs at;
    at.set("normalized_shape", std::vector<double>(l.ns.begin(), l.ns.end())).set("eps", 1e-5);
    try {
      auto r = run_cuda("layer_norm", {HostT::F(x, l.x), in_or_none(w, l.ns), in_or_none(b, l.ns)}, {HostT::Out(l.x), HostT::Out(stat), HostT::Out(stat)}, at);
      expect_close(label + " y", y, r[0].f, 1e-5, 1e-5);
      expect_close(label + " mean", mean, r[1].f, 1e-6, 1e-6);
      expect_close(label + " rstd", rstd, r[2].f, 1e-6, 1e-5);
      auto rb = run_cuda("layer_norm_backward", {HostT::F(gy, l.x), HostT::F(x, l.x), HostT::F(mean, stat), HostT::F(rstd, stat), in_or_none(w, l.ns)},
                         {HostT::Out(l.x), HostT::Out(l.ns), HostT::Out(l.ns)}, at);
      expect_close(label + " backward gx", gx, rb[0].f, 1e-5, 1e-4);
      expect_close(label + " backward gweight", gw, rb[1].f, 1e-5, 1e-5);
      expect_close(label + " backward gbias", gb, rb[2].f, 1e-5, 1e-5);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
}

void test_loss() {
  struct Ce {
    Shape logits;
    Reduction red;
    bool weight, prob;
    int64_t ignore;
    double smoothing;
  };
  const Ce ces[] = {{{16, 10}, Reduction::Mean, false, false, -100, 0},  {{16, 10}, Reduction::Sum, true, false, -100, 0},
                    {{16, 10}, Reduction::None, true, false, 3, 0.1},     {{4, 5, 3, 2}, Reduction::Mean, true, false, 2, 0.2},
                    {{8, 1000}, Reduction::Mean, false, false, -100, 0.05}, {{16, 10}, Reduction::Mean, true, true, -100, 0.1},
                    {{4, 5, 6}, Reduction::None, false, true, -100, 0},   {{128, 10}, Reduction::Mean, false, false, -100, 0}};
  const int red_code[] = {0, 1, 2};  // Reduction::Mean, Sum, None -> the attribute's 0 / 1 / 2
  for (auto& c : ces) {
    const int64_t N = c.logits[0], C = c.logits[1];
    Shape ts{N};
    ts.insert(ts.end(), c.logits.begin() + 2, c.logits.end());
    const std::string label = "cross_entropy " + str(c.logits) + " reduction " + std::to_string(red_code[int(c.red)]) + (c.weight ? " weight" : "") +
                              (c.prob ? " prob" : "") + " ignore " + std::to_string(c.ignore) + " smoothing " + std::to_string(c.smoothing);
    std::vector<float> z = random_vec(numel(c.logits), -4, 4), w = c.weight ? random_vec(C, 0.2f, 2.0f) : std::vector<float>{};
    std::vector<int32_t> t = random_ints(numel(ts), 0, static_cast<int32_t>(C));
    if (c.ignore >= 0 && c.ignore < C && t.size() > 2) t[1] = static_cast<int32_t>(c.ignore);
    std::vector<float> q;
    if (c.prob) {  // probabilities: each position's C values sum to 1
      q = random_vec(numel(c.logits), 0.0f, 1.0f);
      const int64_t D = numel(c.logits) / (N * C);
      for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
          double s = 0;
          for (int64_t k = 0; k < C; k++) s += q[(n * C + k) * D + d];
          for (int64_t k = 0; k < C; k++) q[(n * C + k) * D + d] = static_cast<float>(q[(n * C + k) * D + d] / s);
        }
    }
    CrossEntropyAttrs a;
    a.reduction = c.red;
    a.ignore_index = c.ignore;
    a.label_smoothing = c.smoothing;
    const Shape ls = cross_entropy_shape(c.logits, c.red);
    std::vector<float> loss(static_cast<size_t>(numel(ls))), gl = random_vec(numel(ls), 0.5f, 1.5f), gz(z.size());
    if (c.prob) {
      cross_entropy_prob_forward(CFView{z.data(), c.logits}, {q.data(), q.size()}, opt(w), {loss.data(), loss.size()}, a);
      cross_entropy_prob_backward(CFView{z.data(), c.logits}, {q.data(), q.size()}, opt(w), {gl.data(), gl.size()}, {gz.data(), gz.size()}, a);
    } else {
      cross_entropy_forward(CFView{z.data(), c.logits}, {t.data(), t.size()}, opt(w), {loss.data(), loss.size()}, a);
      cross_entropy_backward(CFView{z.data(), c.logits}, {t.data(), t.size()}, opt(w), {gl.data(), gl.size()}, {gz.data(), gz.size()}, a);
    }
    Attrs at;
    at.set("reduction", red_code[int(c.red)]).set("ignore_index", static_cast<double>(c.ignore)).set("label_smoothing", c.smoothing);
    const HostT target = c.prob ? HostT::F(q, c.logits) : HostT::I(t, ts);
    try {
      expect_close(label, loss, run_cuda("cross_entropy", {HostT::F(z, c.logits), target, in_or_none(w, {C})}, {HostT::Out(ls)}, at)[0].f, 1e-5, 1e-5);
      auto rb = run_cuda("cross_entropy_backward", {HostT::F(z, c.logits), target, in_or_none(w, {C}), HostT::F(gl, ls)}, {HostT::Out(c.logits)}, at);
      expect_close(label + " backward", gz, rb[0].f, 1e-6, 1e-4);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
  expect_error("cross_entropy with a target out of range", ErrorCode::Index, [] {
    run_cuda("cross_entropy", {HostT::F(random_vec(6), {2, 3}), HostT::I({0, 3}, {2})}, {HostT::Out({})}, {});
  });

  for (Reduction red : {Reduction::Mean, Reduction::Sum, Reduction::None})
    for (int64_t n : {1, 1000, 1000003}) {
      const std::string label = "mse_loss n=" + std::to_string(n) + " reduction " + std::to_string(red_code[int(red)]);
      std::vector<float> p = random_vec(n), t = random_vec(n);
      const Shape ls = mse_loss_shape({n}, red);
      std::vector<float> loss(static_cast<size_t>(numel(ls))), gl = random_vec(numel(ls)), gp(p.size()), gt(p.size());
      mse_loss_forward({p.data(), p.size()}, {t.data(), t.size()}, {loss.data(), loss.size()}, red);
      mse_loss_backward({p.data(), p.size()}, {t.data(), t.size()}, {gl.data(), gl.size()}, OptF(FSpan{gp.data(), gp.size()}),
                        OptF(FSpan{gt.data(), gt.size()}), red);
      Attrs at;
      at.set("reduction", red_code[int(red)]);
      try {
        expect_close(label, loss, run_cuda("mse_loss", {HostT::F(p, {n}), HostT::F(t, {n})}, {HostT::Out(ls)}, at)[0].f, 1e-6, 1e-5);
        auto rb = run_cuda("mse_loss_backward", {HostT::F(p, {n}), HostT::F(t, {n}), HostT::F(gl, ls)}, {HostT::Out({n}), HostT::Out({n})}, at);
        expect_close(label + " backward gpred", gp, rb[0].f, 0, 0);
        expect_close(label + " backward gtarget", gt, rb[1].f, 0, 0);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }
}

void test_embedding() {
  struct Case {
    int64_t V, D;
    Shape ids;
    std::optional<int64_t> pad;
  };
  const Case cases[] = {{10, 4, {7}, std::nullopt}, {50, 33, {4, 9}, 3}, {1000, 128, {32, 64}, -1}, {5, 1, {100}, std::nullopt}};
  for (auto& c : cases) {
    const std::string label = "embedding V=" + std::to_string(c.V) + " D=" + std::to_string(c.D) + " ids " + str(c.ids);
    std::vector<float> w = random_vec(c.V * c.D);
    std::vector<int32_t> ids = random_ints(numel(c.ids), 0, static_cast<int32_t>(std::min<int64_t>(c.V, 20)));  // repeats
    Shape ys = c.ids;
    ys.push_back(c.D);
    std::vector<float> y(static_cast<size_t>(numel(ys))), gy = random_vec(numel(ys)), gw(w.size());
    embedding(CFView{w.data(), {c.V, c.D}}, {ids.data(), ids.size()}, {y.data(), y.size()});
    embedding_backward({gy.data(), gy.size()}, {ids.data(), ids.size()}, c.V, c.D, c.pad, {gw.data(), gw.size()});
    Attrs at;
    if (c.pad) at.set("padding_idx", static_cast<double>(*c.pad));
    try {
      expect_close(label, y, run_cuda("embedding", {HostT::I(ids, c.ids), HostT::F(w, {c.V, c.D})}, {HostT::Out(ys)}, at)[0].f, 0, 0);
      Attrs ab = at;
      ab.set("num_weights", static_cast<double>(c.V));
      // Exact: each row sums its gradients in id order, as the CPU.
      expect_close(label + " backward", gw, run_cuda("embedding_backward", {HostT::F(gy, ys), HostT::I(ids, c.ids)}, {HostT::Out({c.V, c.D})}, ab)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
}

void test_random() {
  const std::tuple<int64_t, double, int64_t, int64_t> cases[] = {
      {1, 0.5, 0, 0}, {1003, 0.1, 42, 7}, {1000003, 0.5, 123456789012LL, 1LL << 33}, {64, 1.0, 1, 2}, {64, 0.0, 1, 2}};
  for (auto& [n, p, seed, offset] : cases) {
    const std::string label = "dropout n=" + std::to_string(n) + " p=" + std::to_string(p) + " seed " + std::to_string(seed);
    std::vector<float> x = random_vec(n), y(static_cast<size_t>(n)), mask(static_cast<size_t>(n), 1.0f);
    if (p > 0) {
      std::vector<uint8_t> keep(static_cast<size_t>(n));
      dropout({x.data(), x.size()}, {y.data(), y.size()}, {keep.data(), keep.size()}, p, seed, offset);
      dropout_backward({mask.data(), mask.size()}, {keep.data(), keep.size()}, p, {mask.data(), mask.size()});  // the catalog's float mask
    } else {
      y = x;
    }
    Attrs at;
    at.set("p", p).set("training", 1).set("seed", static_cast<double>(seed)).set("offset", static_cast<double>(offset));
    try {
      auto r = run_cuda("dropout", {HostT::F(x, {n})}, {HostT::Out({n}), HostT::Out({n})}, at);
      expect_close(label + " y", y, r[0].f, 0, 0);
      expect_close(label + " mask", mask, r[1].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
    const std::string ulabel = "uniform n=" + std::to_string(n) + " seed " + std::to_string(seed);
    std::vector<float> u(static_cast<size_t>(n));
    rand_uniform({u.data(), u.size()}, -2.0, 3.0, seed, offset);
    Attrs au;
    au.set("a", -2.0).set("b", 3.0).set("seed", static_cast<double>(seed)).set("offset", static_cast<double>(offset));
    try {
      expect_close(ulabel, u, run_cuda("uniform", {}, {HostT::Out({n})}, au)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(ulabel, e);
    }
    const std::string nlabel = "normal n=" + std::to_string(n) + " seed " + std::to_string(seed);
    std::vector<float> z(static_cast<size_t>(n));
    rand_normal({z.data(), z.size()}, 0.5, 2.0, seed, offset);
    Attrs an;
    an.set("a", 0.5).set("b", 2.0).set("seed", static_cast<double>(seed)).set("offset", static_cast<double>(offset));
    try {
      expect_close(nlabel, z, run_cuda("normal", {}, {HostT::Out({n})}, an)[0].f, 0, 0);
    } catch (const Error& e) {
      report_exception(nlabel, e);
    }
  }
}

void test_optim() {
  const int64_t n = 100003;
  const std::vector<float> p0 = random_vec(n), g = random_vec(n), m0 = random_vec(n, -0.1f, 0.1f), v0 = random_vec(n, 0.0f, 0.01f),
                           vmax0 = random_vec(n, 0.0f, 0.012f);
  for (int ams = 0; ams < 2; ams++)
    for (int decoupled = 0; decoupled < 2; decoupled++)
      for (int64_t step : {1, 7}) {
        const std::string label = std::string("adam_update") + (ams ? " amsgrad" : "") + (decoupled ? " adamw" : "") + " step " + std::to_string(step);
        std::vector<float> p = p0, m = m0, v = v0, vmax = vmax0;
        AdamOptions o;
        o.lr = 1e-2, o.weight_decay = 0.05, o.amsgrad = ams != 0, o.decoupled_weight_decay = decoupled != 0;
        adam_step({p.data(), p.size()}, {g.data(), g.size()}, {m.data(), m.size()}, {v.data(), v.size()},
                  ams ? FSpan{vmax.data(), vmax.size()} : FSpan{}, step, o);
        Attrs at;
        at.set("lr", 1e-2).set("weight_decay", 0.05).set("amsgrad", ams).set("decoupled_weight_decay", decoupled).set("step", static_cast<double>(step));
        std::vector<HostT> ins = {HostT::F(p0, {n}), HostT::F(g, {n}), HostT::F(m0, {n}), HostT::F(v0, {n})};
        std::vector<HostT> outs = {HostT::Out({n}), HostT::Out({n}), HostT::Out({n})};
        if (ams) ins.push_back(HostT::F(vmax0, {n})), outs.push_back(HostT::Out({n}));
        try {
          // In place, as the graph executor runs it: output k is input k's buffer.
          auto r = run_cuda("adam_update", ins, outs, at, ams ? std::vector<std::pair<int, int>>{{0, 0}, {1, 2}, {2, 3}, {3, 4}}
                                                              : std::vector<std::pair<int, int>>{{0, 0}, {1, 2}, {2, 3}});
          expect_close(label + " param", p, r[0].f, 0, 0);
          expect_close(label + " exp_avg", m, r[1].f, 0, 0);
          expect_close(label + " exp_avg_sq", v, r[2].f, 0, 0);
          if (ams) expect_close(label + " max_exp_avg_sq", vmax, r[3].f, 0, 0);
        } catch (const Error& e) {
          report_exception(label, e);
        }
      }
  for (double mom : {0.0, 0.9})
    for (int centered = 0; centered < 2; centered++) {
      const std::string label = "rmsprop_update momentum " + std::to_string(mom) + (centered ? " centered" : "");
      std::vector<float> p = p0, sq = v0, buf = m0, ga = random_vec(n, -0.01f, 0.01f);
      const std::vector<float> ga0 = ga;
      RmspropOptions o;
      o.lr = 1e-2, o.weight_decay = 0.01, o.momentum = mom, o.centered = centered != 0;
      rmsprop_step({p.data(), p.size()}, {g.data(), g.size()}, {sq.data(), sq.size()}, mom > 0 ? FSpan{buf.data(), buf.size()} : FSpan{},
                   centered ? FSpan{ga.data(), ga.size()} : FSpan{}, o);
      Attrs at;
      at.set("lr", 1e-2).set("weight_decay", 0.01).set("momentum", mom).set("centered", centered);
      std::vector<HostT> ins = {HostT::F(p0, {n}), HostT::F(g, {n}), HostT::F(v0, {n}), mom > 0 ? HostT::F(m0, {n}) : HostT::None(),
                                centered ? HostT::F(ga0, {n}) : HostT::None()};
      std::vector<HostT> outs = {HostT::Out({n}), HostT::Out({n})};
      if (mom > 0) outs.push_back(HostT::Out({n}));
      if (centered) outs.push_back(HostT::Out({n}));
      try {
        auto r = run_cuda("rmsprop_update", ins, outs, at);
        expect_close(label + " param", p, r[0].f, 0, 0);
        expect_close(label + " square_avg", sq, r[1].f, 0, 0);
        if (mom > 0) expect_close(label + " momentum_buffer", buf, r[2].f, 0, 0);
        if (centered) expect_close(label + " grad_avg", ga, r[mom > 0 ? 3 : 2].f, 0, 0);
      } catch (const Error& e) {
        report_exception(label, e);
      }
    }
  struct Sgd {
    double mom, damp, wd;
    bool nesterov;
    int64_t step;
  };
  const Sgd sgds[] = {{0, 0, 0, false, 1}, {0, 0, 0.01, false, 3}, {0.9, 0, 0.01, false, 1}, {0.9, 0.1, 0, false, 5}, {0.9, 0, 0.01, true, 2}};
  for (auto& s : sgds) {
    const std::string label = "sgd_update momentum " + std::to_string(s.mom) + " dampening " + std::to_string(s.damp) + (s.nesterov ? " nesterov" : "") +
                              " step " + std::to_string(s.step);
    std::vector<float> p = p0, buf = m0;
    SgdOptions o;
    o.lr = 0.05, o.momentum = s.mom, o.dampening = s.damp, o.weight_decay = s.wd, o.nesterov = s.nesterov;
    sgd_step({p.data(), p.size()}, {g.data(), g.size()}, s.mom != 0 ? FSpan{buf.data(), buf.size()} : FSpan{}, s.step, o);
    Attrs at;
    at.set("lr", 0.05).set("momentum", s.mom).set("dampening", s.damp).set("weight_decay", s.wd).set("nesterov", s.nesterov ? 1 : 0).set("step", double(s.step));
    std::vector<HostT> ins = {HostT::F(p0, {n}), HostT::F(g, {n})};
    std::vector<HostT> outs = {HostT::Out({n})};
    if (s.mom != 0) ins.push_back(HostT::F(m0, {n})), outs.push_back(HostT::Out({n}));
    try {
      auto r = run_cuda("sgd_update", ins, outs, at);
      expect_close(label + " param", p, r[0].f, 0, 0);
      if (s.mom != 0) expect_close(label + " momentum_buffer", buf, r[1].f, 0, 0);
    } catch (const Error& e) {
      report_exception(label, e);
    }
  }
}

}  // namespace ravdl::cudatest
