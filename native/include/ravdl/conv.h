// 2-D convolution over NCHW with every option of torch.nn.Conv2d, by im2col + sgemm
// (Winograd F(2x2, 3x3) for 3x3 stride-1 convs with >= 8 channels; see detail below), in
// blocks that keep the scratch memory under detail::kConvWorkspaceBytes.
//
// x: [N, C, H, W], w: [Cout, C/groups, KH, KW], bias: [Cout] or none, y: [N, Cout, OH, OW] with
//   OH = (H + pad_top + pad_bottom - dilation_h*(KH-1) - 1) / stride_h + 1   (floor), same for W.
// Padding: explicit [ph, pw] (both sides), 'valid' (0) or 'same' (stride must be 1; total
// dilation*(K-1), the odd extra element going to the bottom/right like torch).
// padding_mode 'zeros' pads with zeros; 'reflect'/'replicate'/'circular' read the element
// pad() would put there (torch pads the input first, then convolves unpadded: the same values).
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ravdl/pad.h"
#include "ravdl/tensor.h"

namespace ravdl {

enum class ConvPadding { Explicit, Same, Valid };
enum class ConvPaddingMode { Zeros, Reflect, Replicate, Circular };

struct Conv2dAttrs {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};  // used when padding_kind == Explicit
  std::array<int64_t, 2> dilation{1, 1};
  ConvPadding padding_kind = ConvPadding::Explicit;
  int64_t groups = 1;
  ConvPaddingMode padding_mode = ConvPaddingMode::Zeros;
};

// 'same' | 'valid' (ERR_ATTR otherwise) and 'zeros' | 'reflect' | 'replicate' | 'circular'.
ConvPadding conv_padding_from(const char* op, const std::string& s);
ConvPaddingMode conv_padding_mode_from(const char* op, const std::string& s);

// Every size of one convolution, validated.
struct Conv2dGeom {
  int64_t N, C, H, W;      // input
  int64_t Cout, KH, KW;    // weight [Cout, C/G, KH, KW]
  int64_t G;               // groups
  int64_t sh, sw, dh, dw;  // stride, dilation
  int64_t pt, pb, pl, pr;  // padding top, bottom, left, right
  int64_t OH, OW;
  ConvPaddingMode mode;
  int64_t Cg() const { return C / G; }
  int64_t Coutg() const { return Cout / G; }
  int64_t Hp() const { return H + pt + pb; }
  int64_t Wp() const { return W + pl + pr; }
  Shape out_shape() const { return {N, Cout, OH, OW}; }
};

// Throws ERR_SHAPE (ranks, channel counts, kernel larger than the padded input) or ERR_ATTR
// (stride/dilation < 1, negative padding, groups not dividing channels, 'same' with stride
// > 1, padding too large for the padding mode). `op` names the caller in messages.
Conv2dGeom conv2d_geometry(const char* op, const Shape& x, const Shape& w, const Conv2dAttrs& a);
Shape conv2d_shape(const Shape& x, const Shape& w, const Conv2dAttrs& a);

// y = conv2d(x, w) + bias. y must not overlap x, w or bias.
void conv2d(CFView x, CFView w, std::optional<Span<const float>> bias, FSpan y,
            const Conv2dAttrs& a);
// gx = dL/dx from gy = dL/dy; gx has shape `x_shape`.
void conv2d_backward_input(CFView gy, CFView w, const Shape& x_shape, FSpan gx,
                           const Conv2dAttrs& a);
// gw = dL/dw from gy and x; gw has shape `w_shape`.
void conv2d_backward_weight(CFView gy, CFView x, const Shape& w_shape, FSpan gw,
                            const Conv2dAttrs& a);
// gb[c] = sum of gy[:, c, :, :]; gy must be 4-D, gb has gy.shape[1] elements.
void conv2d_backward_bias(CFView gy, FSpan gb);

namespace detail {
// Scratch memory (im2col columns, Winograd tiles) of one conv2d call, all threads together,
// stays under this cap: larger problems run in blocks of output positions (im2col) or of tile
// rows (Winograd), with the same results. The smallest block, one output position (C*KH*KW
// floats, never more than w holds), is the only thing that may exceed it.
constexpr int64_t kConvWorkspaceBytes = int64_t{64} << 20;
// The cap in use; tests lower it to exercise the blocked paths (bytes <= 0 restores the default).
int64_t conv_workspace_cap();
void set_conv_workspace_cap(int64_t bytes);

// How a call is computed, from its geometry only: never from the thread count, so the blocks
// (hence the GEMM shapes, and the order in which the weight gradient sums) are the same on
// every machine. A task plans its scratch within 1/kConvShares of the cap, so kConvShares
// tasks at once stay under it.
constexpr int64_t kConvShares = 16;
struct ConvPlan {
  bool direct = false;  // 1x1, stride 1, no padding: a sample is its own im2col matrix
  bool wino = false;    // Winograd F(2x2, 3x3)
  bool prepad = false;  // Winograd with a non-zero padding mode: pad_rows() each band first
  int64_t Kg = 0, P = 0;  // GEMM sizes: Cg*KH*KW and OH*OW
  int64_t pb = 1;       // im2col: output positions per block
  int64_t nb = 1;       // Winograd: samples per call (whole samples)
  int64_t band = 1;     // Winograd: tile rows per call (all of them when nb > 1)
  int64_t scratch = 0;  // floats of scratch one task holds
};
// wino_tiles: the Winograd call size aimed for (see winograd_batch); 0 for im2col only.
ConvPlan conv_plan(const Conv2dGeom& g, int64_t wino_tiles);
// Tasks to run N samples on at once (forward and input gradient, whose results do not depend
// on it): one per thread, fewer so that each is >= ~0.5 MFLOP of work and all their scratch
// fits the cap; 1 when single-threaded (then the GEMMs use the pool themselves).
int64_t conv_sample_tasks(int64_t N, double flops_per_sample, const ConvPlan& p);
// Sample chunks of the weight gradient: each sums its samples into its own partial of `wsize`
// floats and the partials are added in chunk order, so the chunks, not the threads, fix the
// order of the sums. At most kConvShares, >= ~0.5 MFLOP each, partials within 1/8 of the cap.
int64_t conv_weight_chunks(int64_t N, double flops_per_sample, int64_t wsize);
// Unpacks output positions [p0, p1) of one sample x (C x H x W) into col [C*KH*KW, p1 - p0]:
// row (c, kh, kw) holds what that kernel tap reads, through g's padding (zeros, or the
// padding mode's source element).
void im2col(const float* x, const Conv2dGeom& g, int64_t p0, int64_t p1, float* col);
// The adjoint: adds col [C*KH*KW, p1 - p0] into gx (C x H x W), which the caller zeroed.
void col2im(const float* col, const Conv2dGeom& g, int64_t p0, int64_t p1, float* gx);
// Rows [r0, r1) of the padded input (Hp x Wp, padded by g's mode) of cnt samples into
// out [cnt][C][r1 - r0][Wp]: what the Winograd path reads when the padding is not zeros.
void pad_rows(const float* x, int64_t cnt, const Conv2dGeom& g, int64_t r0, int64_t r1, float* out);

// Winograd F(2x2, 3x3): 3x3, stride-1, undilated, single-group convs with >= 8 channels on
// each side do 2.25x fewer multiplies than im2col + GEMM. Scratch: 16 * (Cin + Cout) floats
// per 2x2 tile.
bool winograd_applies(int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t dh, int64_t dw,
                      int64_t G, int64_t Cin, int64_t Cout);
// U [16][Cout][Cin] = G g G^T for each 3x3 kernel g of w [Cout][Cin][3][3].
void winograd_weights(const float* w, int64_t Cout, int64_t Cin, float* U);
// For nb samples (x stride Cin*H*W, y stride Cout*OH*OW): y = bias + 3x3 conv of x, where
// output (oh, ow) reads input rows oh - pt .. oh - pt + 2 (zero outside [0, H)), same for W.
// pt/pl may be negative or exceed the kernel (the loads are bounds-checked). Only the tile
// rows [th0, th1) (output rows 2*th0 .. 2*th1 - 1) are computed.
void winograd_conv(const float* x, int64_t nb, int64_t Cin, int64_t H, int64_t W, int64_t pt,
                   int64_t pl, const float* U, int64_t Cout, int64_t OH, int64_t OW, int64_t th0,
                   int64_t th1, const float* bias, float* y, std::vector<float>& V,
                   std::vector<float>& M);
// Adds to UW [16][Cout][Cin] the Winograd-domain weight gradient of nb samples (x, pt, pl
// as in winograd_conv; gy [nb][Cout][OH][OW]) over tile rows [th0, th1);
// winograd_weights_back turns the sum into gw [Cout][Cin][3][3].
void winograd_weight_grad(const float* x, const float* gy, int64_t nb, int64_t Cin, int64_t H,
                          int64_t W, int64_t pt, int64_t pl, int64_t Cout, int64_t OH, int64_t OW,
                          int64_t th0, int64_t th1, float* UW, std::vector<float>& V,
                          std::vector<float>& Z);
void winograd_weights_back(const float* UW, int64_t Cout, int64_t Cin, float* gw);
// Samples per Winograd call for about tiles_per_call 2x2 output tiles: wider GEMMs amortise
// packing, narrower ones keep the transformed tiles (16 * channels * tiles floats) in cache.
// Measured best: ~256 for the forward pass, ~64 for the weight gradient.
int64_t winograd_batch(int64_t OH, int64_t OW, int64_t tiles_per_call);
}  // namespace detail

}  // namespace ravdl
