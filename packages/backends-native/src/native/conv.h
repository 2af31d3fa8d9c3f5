// Convolution kernels for NHWC float32 tensors: implicit GEMM with a packed A panel and a
// register-tiled micro-kernel written with GCC/Clang vector extensions (compiled -march=native).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "thread-pool.h"

namespace bmp {

#if defined(__AVX512F__)
constexpr int kWideLanes = 16;
constexpr int kRegs = 32;
#elif defined(__AVX__)
constexpr int kWideLanes = 8;
constexpr int kRegs = 16;
#else
constexpr int kWideLanes = 4;
constexpr int kRegs = 16;
#endif

template <int L>
struct Vec {
  typedef float type __attribute__((vector_size(L * 4)));
  typedef float utype __attribute__((vector_size(L * 4), aligned(4)));
  static inline type load(const float* p) { return *reinterpret_cast<const utype*>(p); }
  static inline void store(float* p, type v) { *reinterpret_cast<utype*>(p) = v; }
  // s - 0 folds to s (exact for every s, -0 included), so this is one broadcast that the compiler
  // folds into the FMA; `type{} + s` is not an identity for s = -0 and cost a scalar add per FMA on
  // the FMA ports (half the micro-kernel's speed).
  static inline type splat(float s) { return s - type{}; }
};

// Short copies inline (memcpy calls cost more than the copy for a few channels).
inline void copyFloats(float* dst, const float* src, int n) {
  int i = 0;
  for (; i + kWideLanes <= n; i += kWideLanes) Vec<kWideLanes>::store(dst + i, Vec<kWideLanes>::load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

inline void zeroFloats(float* dst, int n) {
  int i = 0;
  for (; i + kWideLanes <= n; i += kWideLanes) Vec<kWideLanes>::store(dst + i, Vec<kWideLanes>::splat(0.f));
  for (; i < n; i++) dst[i] = 0.f;
}

struct ConvGeom {
  int n, h, w, ci;      // input
  int kh, kw, co;       // filter [kh, kw, ci, co]
  int oh, ow;           // output
  int sh, sw, top, left;
  int64_t pixels() const { return int64_t(n) * oh * ow; }
  int depth() const { return kh * kw * ci; }
};

// The register tile of every micro-kernel: MR x NV vectors of L floats, acc[r][j].
#define BMP_INLINE __attribute__((always_inline)) inline

// Zeroes the tile, or (`accumulate`) loads rows < rows from c to continue a sum over a later depth block
// (the rows past `rows` start at 0). Continuing from the stored float32 partial sums repeats exactly the
// operations of one unbroken sum, so depth blocking does not change any bit of the result.
template <int L, int MR, int NV>
BMP_INLINE void startTile(typename Vec<L>::type (&acc)[MR][NV], const float* c, int64_t ldc, int rows,
                          bool accumulate) {
  using V = Vec<L>;
  for (int r = 0; r < MR; r++)
    for (int j = 0; j < NV; j++) acc[r][j] = accumulate && r < rows ? V::load(c + r * ldc + j * L) : V::splat(0.f);
}

// One depth step: acc[r][j] += a[r * aStride] * b[j * L ..].
template <int L, int MR, int NV>
BMP_INLINE void addOuterProduct(typename Vec<L>::type (&acc)[MR][NV], const float* a, int64_t aStride,
                                const float* b) {
  using V = Vec<L>;
  typename V::type bv[NV];
  for (int j = 0; j < NV; j++) bv[j] = V::load(b + j * L);
  for (int r = 0; r < MR; r++) {
    const typename V::type s = V::splat(a[r * aStride]);
    for (int j = 0; j < NV; j++) acc[r][j] += s * bv[j];
  }
}

// Writes the tile's rows < rows to c, or (`add`) adds them to c.
template <int L, int MR, int NV>
BMP_INLINE void storeTile(const typename Vec<L>::type (&acc)[MR][NV], float* c, int64_t ldc, int rows, bool add) {
  using V = Vec<L>;
  for (int r = 0; r < MR && r < rows; r++)
    for (int j = 0; j < NV; j++) {
      float* p = c + r * ldc + j * L;
      V::store(p, add ? V::load(p) + acc[r][j] : acc[r][j]);
    }
}

// c[r][0..NV*L) += sum_k a[k*MR + r] * b[k*ldb + 0..NV*L), for r < rows (the filter gradient adds
// one pixel chunk at a time).
template <int L, int MR, int NV>
inline void microKernel(const float* a, const float* b, int64_t ldb, int depth, float* c, int64_t ldc,
                        int rows) {
  typename Vec<L>::type acc[MR][NV];
  startTile<L, MR, NV>(acc, c, ldc, rows, false);
  for (int k = 0; k < depth; k++) addOuterProduct<L, MR, NV>(acc, a + k * MR, 1, b + k * ldb);
  storeTile<L, MR, NV>(acc, c, ldc, rows, true);
}

}  // namespace bmp

namespace bmp {

// ---- forward: y[p, co] = sum_k col(x)[p, k] * w[k, co], p = (n, oh, ow), k = (kh, kw, ci) ----

// row[k] = col(x)[pixel (n, oh, ow), k] for k < depth: one contiguous copy per filter tap.
inline void im2colRow(const float* x, const ConvGeom& g, int n, int oh, int ow, float* row) {
  const int ih0 = oh * g.sh - g.top, iw0 = ow * g.sw - g.left;
  float* dst = row;
  for (int i = 0; i < g.kh; i++) {
    const int ih = ih0 + i;
    for (int j = 0; j < g.kw; j++, dst += g.ci) {
      const int iw = iw0 + j;
      if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) zeroFloats(dst, g.ci);
      else copyFloats(dst, x + ((int64_t(n) * g.h + ih) * g.w + iw) * g.ci, g.ci);
    }
  }
}

// The packed pixel tile of the forward pass: depth split into chunks of KC, each chunk MR rows of KC
// values: a[(chunk * MR + r) * KC + kk] = col(x)[p0 + r, chunk * KC + kk]. Rows are filled with
// contiguous copies (one filter tap's channels at a time), and the micro-kernel reads row r at the
// compile-time offset r * KC.
// Only depth values [k0, k0 + count) are packed (chunk c holds k0 + c * KC ...), for depth blocking.
template <int MR, int KC>
void packPixels(const float* x, const ConvGeom& g, int64_t p0, int rows, int k0, int count, float* a, float* row) {
  const int depth = g.depth();
  const int chunks = (count + KC - 1) / KC;
  // (n, oh, ow) of pixel p0, then stepped (divisions per pixel cost as much as the copies).
  int ow = int(p0 % g.ow);
  const int64_t q = p0 / g.ow;
  int oh = int(q % g.oh);
  int n = int(q / g.oh);
  for (int r = 0; r < MR; r++) {
    if (r >= rows) {
      zeroFloats(row, depth);
    } else {
      im2colRow(x, g, n, oh, ow, row);
      if (++ow == g.ow) {
        ow = 0;
        if (++oh == g.oh) {
          oh = 0;
          n++;
        }
      }
    }
    for (int c = 0; c < chunks; c++)
      copyFloats(a + (int64_t(c) * MR + r) * KC, row + k0 + c * KC, std::min(KC, count - c * KC));
  }
}

// c[r][0..NV*L) (+)= sum_k a(r, k) * b[k*ldb + 0..NV*L) over the chunked layout of packPixels, r < rows
// (`accumulate`: c's values are the sum so far).
template <int L, int MR, int NV, int KC>
inline void microKernelChunked(const float* a, const float* b, int64_t ldb, int depth, float* c, int64_t ldc,
                               int rows, bool accumulate) {
  typename Vec<L>::type acc[MR][NV];
  startTile<L, MR, NV>(acc, c, ldc, rows, accumulate);
  for (int k0 = 0; k0 < depth; k0 += KC) {
    const float* ac = a + int64_t(k0 / KC) * MR * KC;
    const float* bc = b + k0 * ldb;
    const int n = std::min(KC, depth - k0);
    for (int kk = 0; kk < n; kk++) addOuterProduct<L, MR, NV>(acc, ac + kk, KC, bc + kk * ldb);
  }
  storeTile<L, MR, NV>(acc, c, ldc, rows, false);
}

// The filter as the forward micro-kernels read it: w itself (rows of co floats) or, with many output
// channels, a copy with one contiguous panel per block of NVL = NV * L channels, so that a block streams
// through the caches in order instead of as one short piece every co floats (same values, same bits).
template <int NVL>
struct FilterView {
  const float* base;
  int64_t ld, blockStride;
  std::unique_ptr<float[]> copy;
  const float* at(int64_t k, int c0) const { return base + (c0 / NVL) * blockStride + k * ld; }
};

template <int NVL>
FilterView<NVL> viewFilter(const float* w, int depth, int co, int threads) {
  FilterView<NVL> v{w, co, NVL, nullptr};
  if (co < 4 * NVL) return v;
  v.copy.reset(new float[int64_t(depth) * co]);
  float* panels = v.copy.get();
  parallelFor(co / NVL, threadsFor(int64_t(depth) * co, threads), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++)
      for (int64_t k = 0; k < depth; k++) copyFloats(panels + (b * depth + k) * NVL, w + k * co + b * NVL, NVL);
  });
  v.base = panels;
  v.ld = NVL;
  v.blockStride = int64_t(depth) * NVL;
  return v;
}

// Depth blocking for wide layers: when a column block of w (depth x NV*L floats) no longer fits the
// caches, each tile would stream all of w from memory. Then groups of kGroup tiles go through the depth
// in blocks, so that a block of w is reused by the whole group while it is cached.
// BMP_NATIVE_CONV=unblocked turns it off (a diagnostic, like =packed below: the bits are the same).
constexpr int kDepthBlock = 512;
constexpr int kGroup = 32;
inline bool convOption(const char* name) {
  const char* v = std::getenv("BMP_NATIVE_CONV");
  return v != nullptr && std::strstr(v, name) != nullptr;
}
inline bool blockDepth(int depth) { return depth > 3 * kDepthBlock && !convOption("unblocked"); }

template <int L, int MR, int NV>
void convForwardT(const float* x, const float* w, float* y, const ConvGeom& g, int threads) {
  constexpr int KC = 64;
  const int64_t tiles = (g.pixels() + MR - 1) / MR;
  const int depth = g.depth();
  const bool blocked = blockDepth(depth);
  const int block = blocked ? kDepthBlock : depth, group = blocked ? kGroup : 1;
  const int64_t tileSize = int64_t((block + KC - 1) / KC) * MR * KC;
  const int64_t groups = (tiles + group - 1) / group;
  const FilterView<NV * L> f = viewFilter<NV * L>(w, depth, g.co, threads);
  parallelFor(groups, threads, [&](int64_t g0, int64_t g1) {
    std::vector<float> a(size_t(group * tileSize)), row(depth);
    for (int64_t gi = g0; gi < g1; gi++) {
      const int64_t t0 = gi * group, t1 = std::min(tiles, t0 + group);
      for (int k0 = 0; k0 < depth; k0 += block) {
        const int count = std::min(block, depth - k0);
        for (int64_t t = t0; t < t1; t++) {
          const int rows = int(std::min<int64_t>(MR, g.pixels() - t * MR));
          packPixels<MR, KC>(x, g, t * MR, rows, k0, count, a.data() + (t - t0) * tileSize, row.data());
        }
        for (int c0 = 0; c0 < g.co; c0 += NV * L)
          for (int64_t t = t0; t < t1; t++) {
            const int rows = int(std::min<int64_t>(MR, g.pixels() - t * MR));
            microKernelChunked<L, MR, NV, KC>(a.data() + (t - t0) * tileSize, f.at(k0, c0), f.ld, count,
                                              y + t * MR * g.co + c0, g.co, rows, k0 > 0);
          }
      }
    }
  });
}

// ---- filter gradient: dw[k, co] = sum_p col(x)[p, k] * dy[p, co] ----

// a[pp * MR + r] = col(x)[p0 + pp, k0 + r] for pp < count (zero outside the image and for k >= depth).
template <int MR>
void packDepth(const float* x, const ConvGeom& g, int64_t p0, int count, int k0, float* a) {
  const int depth = g.depth();
  int kh[MR], kw[MR], kc[MR];
  for (int r = 0; r < MR; r++) {
    const int k = k0 + r;
    kc[r] = k % g.ci;
    kw[r] = (k / g.ci) % g.kw;
    kh[r] = k / (g.ci * g.kw);
  }
  // Contiguous fast path: the MR depth indices are MR consecutive channels of one filter tap.
  const bool contiguous = k0 + MR <= depth && kc[0] + MR <= g.ci;
  int ow = int(p0 % g.ow);
  int64_t q = p0 / g.ow;
  int oh = int(q % g.oh);
  int n = int(q / g.oh);
  for (int pp = 0; pp < count; pp++) {
    float* dst = a + int64_t(pp) * MR;
    const int ihb = oh * g.sh - g.top, iwb = ow * g.sw - g.left;
    if (contiguous) {
      const int ih = ihb + kh[0], iw = iwb + kw[0];
      if (ih < 0 || ih >= g.h || iw < 0 || iw >= g.w) {
        for (int r = 0; r < MR; r++) dst[r] = 0.f;
      } else {
        const float* src = x + ((int64_t(n) * g.h + ih) * g.w + iw) * g.ci + kc[0];
        for (int r = 0; r < MR; r++) dst[r] = src[r];
      }
    } else {
      for (int r = 0; r < MR; r++) {
        const int ih = ihb + kh[r], iw = iwb + kw[r];
        dst[r] = (k0 + r >= depth || ih < 0 || ih >= g.h || iw < 0 || iw >= g.w)
                     ? 0.f
                     : x[((int64_t(n) * g.h + ih) * g.w + iw) * g.ci + kc[r]];
      }
    }
    if (++ow == g.ow) {
      ow = 0;
      if (++oh == g.oh) {
        oh = 0;
        n++;
      }
    }
  }
}

// Threads split the depth tiles (rows of dw), so each dw element is summed over the pixel chunks in
// the same order whatever the thread count: results do not depend on it, and no partial sums are added.
template <int L, int MR, int NV>
void convFilterGradT(const float* x, const float* dy, float* dw, const ConvGeom& g, int threads) {
  constexpr int KC = 256;  // pixels per packed panel
  const int depth = g.depth();
  const int tiles = (depth + MR - 1) / MR;
  const int64_t chunks = (g.pixels() + KC - 1) / KC;
  // Few channels (the first layer: 3): a tile would mix filter taps, so each chunk's im2col rows are
  // built once and the tiles copied from them.
  const bool panel = g.ci % MR != 0;
  std::fill(dw, dw + int64_t(depth) * g.co, 0.f);
  parallelFor(tiles, threads, [&](int64_t t0, int64_t t1) {
    std::vector<float> a(size_t(KC) * MR), rows(panel ? size_t(KC) * depth : 0);
    for (int64_t c = 0; c < chunks; c++) {
      const int64_t p0 = c * KC;
      const int count = int(std::min<int64_t>(KC, g.pixels() - p0));
      if (panel) {
        int ow = int(p0 % g.ow);
        const int64_t q = p0 / g.ow;
        int oh = int(q % g.oh), n = int(q / g.oh);
        for (int pp = 0; pp < count; pp++) {
          im2colRow(x, g, n, oh, ow, rows.data() + int64_t(pp) * depth);
          if (++ow == g.ow) {
            ow = 0;
            if (++oh == g.oh) {
              oh = 0;
              n++;
            }
          }
        }
      }
      for (int64_t t = t0; t < t1; t++) {
        const int k0 = int(t) * MR;
        if (panel) {
          const int width = std::min(MR, depth - k0);
          for (int pp = 0; pp < count; pp++) {
            const float* src = rows.data() + int64_t(pp) * depth + k0;
            float* dst = a.data() + int64_t(pp) * MR;
            for (int r = 0; r < MR; r++) dst[r] = r < width ? src[r] : 0.f;
          }
        } else {
          packDepth<MR>(x, g, p0, count, k0, a.data());
        }
        const int rows = std::min(MR, depth - k0);
        for (int j0 = 0; j0 < g.co; j0 += NV * L)
          microKernel<L, MR, NV>(a.data(), dy + p0 * g.co + j0, g.co, count, dw + int64_t(k0) * g.co + j0, g.co,
                                 rows);
      }
    }
  }, 1);
}

// ---- direct kernels: the micro-kernels read a zero-padded copy of x in place, no packed panel ----
//
// In the padded input xp[n, a, b, c] = x[n, a - top, b - left, c] (zero outside x), the depth values of
// filter row i for output pixel (n, oh, ow) are kw * ci consecutive floats at
// xp[n, oh * sh + i, ow * sw, 0], and consecutive pixels of an output row are sw * ci floats apart. Both
// kernels add the same products in the same order as the packed ones above, so results are bit-identical
// whichever path runs; they save the packing, which cost as much as the arithmetic for 3-32 channels.

struct PaddedInput {
  std::unique_ptr<float[]> data;
  int hp, wp;         // padded height and width: exactly what the output reads
  int64_t rowStride;  // wp * ci
};

// `slack` zeros follow the last row: the micro-kernels may read (and discard) a little past it.
inline PaddedInput padInput(const float* x, const ConvGeom& g, int64_t slack, int threads) {
  PaddedInput p;
  p.hp = (g.oh - 1) * g.sh + g.kh;
  p.wp = (g.ow - 1) * g.sw + g.kw;
  p.rowStride = int64_t(p.wp) * g.ci;
  const int64_t rows = int64_t(g.n) * p.hp, row = p.rowStride;
  p.data.reset(new float[rows * row + slack]);
  float* d = p.data.get();
  // Columns b of the padded row that hold x: iw = b - left in [0, w).
  const int lo = std::min(std::max(0, g.left), p.wp), hi = std::max(lo, std::min(p.wp, g.left + g.w));
  parallelFor(rows, threadsFor(rows * row, threads), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      float* dst = d + r * row;
      const int n = int(r / p.hp), ih = int(r % p.hp) - g.top;
      if (ih < 0 || ih >= g.h || hi == lo) {
        zeroFloats(dst, int(row));
        continue;
      }
      zeroFloats(dst, lo * g.ci);
      copyFloats(dst + int64_t(lo) * g.ci, x + ((int64_t(n) * g.h + ih) * g.w + (lo - g.left)) * g.ci, (hi - lo) * g.ci);
      zeroFloats(dst + int64_t(hi) * g.ci, int((p.wp - hi) * int64_t(g.ci)));
    }
  });
  std::fill(d + rows * row, d + rows * row + slack, 0.f);
  return p;
}

// c[r][0..NV*L) (+)= sum over filter rows i < taps and jc < span of a[i * tapStride + r * lda + jc] *
// b[(i * span + jc) * ldb + 0..NV*L), r < rows (rows past `rows` are computed from whatever follows and
// dropped; `accumulate`: c's values are the sum so far).
template <int L, int MR, int NV>
inline void microKernelDirect(const float* a, int64_t lda, int64_t tapStride, int taps, int span, const float* b,
                              int64_t ldb, float* c, int64_t ldc, int rows, bool accumulate) {
  typename Vec<L>::type acc[MR][NV];
  startTile<L, MR, NV>(acc, c, ldc, rows, accumulate);
  for (int i = 0; i < taps; i++) {
    const float* ai = a + i * tapStride;
    const float* bi = b + int64_t(i) * span * ldb;
    for (int jc = 0; jc < span; jc++) addOuterProduct<L, MR, NV>(acc, ai + jc, lda, bi + jc * ldb);
  }
  storeTile<L, MR, NV>(acc, c, ldc, rows, false);
}

// Tiles of MR pixels within one output row. Wide layers (blockDepth): groups of kGroup tiles take the
// filter one row of taps (kw * ci depth values) at a time, as convForwardT takes its depth blocks.
template <int L, int MR, int NV>
void convForwardDirectT(const float* x, const float* w, float* y, const ConvGeom& g, int threads) {
  const int64_t lda = int64_t(g.sw) * g.ci;
  const int span = g.kw * g.ci;
  const PaddedInput p = padInput(x, g, MR * lda + span, threads);
  const int tilesPerRow = (g.ow + MR - 1) / MR;
  const int64_t tiles = int64_t(g.n) * g.oh * tilesPerRow;
  const bool blocked = blockDepth(g.depth());
  const int group = blocked ? kGroup : 1, tapsPerBlock = blocked ? 1 : g.kh;
  const int64_t groups = (tiles + group - 1) / group;
  const FilterView<NV * L> f = viewFilter<NV * L>(w, g.depth(), g.co, threads);
  parallelFor(groups, threads, [&](int64_t g0, int64_t g1) {
    for (int64_t gi = g0; gi < g1; gi++) {
      const int64_t t0 = gi * group, t1 = std::min(tiles, t0 + group);
      for (int i = 0; i < g.kh; i += tapsPerBlock)
        for (int c0 = 0; c0 < g.co; c0 += NV * L)
          for (int64_t t = t0; t < t1; t++) {
            const int64_t outRow = t / tilesPerRow;  // n * oh + oh
            const int ow0 = int(t % tilesPerRow) * MR;
            const int oh = int(outRow % g.oh), n = int(outRow / g.oh);
            const int rows = std::min(MR, g.ow - ow0);
            const float* a =
                p.data.get() + (int64_t(n) * p.hp + int64_t(oh) * g.sh + i) * p.rowStride + ow0 * lda;
            float* out = y + (outRow * g.ow + ow0) * g.co;
            microKernelDirect<L, MR, NV>(a, lda, p.rowStride, tapsPerBlock, span, f.at(int64_t(i) * span, c0), f.ld,
                                         out + c0, g.co, rows, i > 0);
          }
    }
  });
}

// ---- small output images: tiles of MR images at one output position, padding taps skipped ----
//
// With a few output positions per image (4x4, 2x2), most of a 3x3 filter's taps fall in the padding for
// some position: the packed tiles, which mix positions, multiply zeros for them (5 of 9 taps at 2x2).
// Here a tile is MR images at the same position, which share their valid taps: a rectangle of filter
// taps, one contiguous run of (j1 - j0) * ci values per filter row i, both in x and in w. Only those are
// packed and summed, in the order of the packed kernels; a skipped product is an exact zero, which does
// not change a float sum, so the bits are those of convForwardT (finite weights).

// Valid taps [i0, i1) x [j0, j1) of output position (oh, ow).
struct TapRange {
  int i0, i1, j0, j1;
};

inline TapRange validTaps(const ConvGeom& g, int oh, int ow) {
  const int ih0 = oh * g.sh - g.top, iw0 = ow * g.sw - g.left;
  TapRange t{std::max(0, -ih0), std::min(g.kh, g.h - ih0), std::max(0, -iw0), std::min(g.kw, g.w - iw0)};
  if (t.i1 < t.i0) t.i1 = t.i0;
  if (t.j1 < t.j0) t.j1 = t.j0;
  return t;
}

template <int L, int MR, int NV>
void convForwardByPositionT(const float* x, const float* w, float* y, const ConvGeom& g, int threads) {
  constexpr int KC = 64;
  constexpr int G = 16;  // tiles that share a packed block of w (one filter row's taps) while it is cached
  const int positions = g.oh * g.ow;
  const int imageTiles = (g.n + MR - 1) / MR;
  const int64_t tiles = int64_t(positions) * imageTiles;  // position-major: neighbours share their taps
  const int64_t segmentSize = int64_t((g.kw * g.ci + KC - 1) / KC) * MR * KC;
  const int64_t ldc = int64_t(positions) * g.co;
  const FilterView<NV * L> f = viewFilter<NV * L>(w, g.depth(), g.co, threads);
  parallelFor((tiles + G - 1) / G, threads, [&](int64_t b0, int64_t b1) {
    std::vector<float> a(size_t(G * segmentSize));
    for (int64_t b = b0; b < b1; b++) {
      const int64_t t0 = b * G, t1 = std::min(tiles, t0 + G);
      bool started[G] = {};
      for (int i = 0; i < g.kh; i++) {
        // Pack filter row i's valid taps for every tile of the group that has them.
        for (int64_t t = t0; t < t1; t++) {
          const int pos = int(t / imageTiles), n0 = int(t % imageTiles) * MR;
          const int oh = pos / g.ow, ow = pos % g.ow;
          const TapRange v = validTaps(g, oh, ow);
          if (i < v.i0 || i >= v.i1 || v.j1 == v.j0) continue;
          const int count = (v.j1 - v.j0) * g.ci, chunks = (count + KC - 1) / KC;
          const int rows = std::min(MR, g.n - n0);
          float* at = a.data() + (t - t0) * segmentSize;
          const int ih = oh * g.sh - g.top + i, iw = ow * g.sw - g.left + v.j0;
          for (int r = 0; r < MR; r++) {
            const float* src = x + ((int64_t(n0 + r) * g.h + ih) * g.w + iw) * g.ci;
            for (int c = 0; c < chunks; c++) {
              float* dst = at + (int64_t(c) * MR + r) * KC;
              const int len = std::min(KC, count - c * KC);
              if (r < rows) copyFloats(dst, src + c * KC, len);
              else zeroFloats(dst, len);
            }
          }
        }
        for (int c0 = 0; c0 < g.co; c0 += NV * L)
          for (int64_t t = t0; t < t1; t++) {
            const int pos = int(t / imageTiles), n0 = int(t % imageTiles) * MR;
            const TapRange v = validTaps(g, pos / g.ow, pos % g.ow);
            if (i < v.i0 || i >= v.i1 || v.j1 == v.j0) continue;
            const int count = (v.j1 - v.j0) * g.ci;
            const float* b = f.at((int64_t(i) * g.kw + v.j0) * g.ci, c0);
            microKernelChunked<L, MR, NV, KC>(a.data() + (t - t0) * segmentSize, b, f.ld, count,
                                              y + (int64_t(n0) * positions + pos) * g.co + c0, ldc,
                                              std::min(MR, g.n - n0), started[t - t0]);
          }
        for (int64_t t = t0; t < t1; t++) {
          const int pos = int(t / imageTiles);
          const TapRange v = validTaps(g, pos / g.ow, pos % g.ow);
          if (i >= v.i0 && i < v.i1 && v.j1 > v.j0) started[t - t0] = true;
        }
      }
      // Positions whose window lies entirely in the padding: zeros.
      for (int64_t t = t0; t < t1; t++) {
        if (started[t - t0]) continue;
        const int pos = int(t / imageTiles), n0 = int(t % imageTiles) * MR;
        for (int r = 0; r < std::min(MR, g.n - n0); r++) zeroFloats(y + (int64_t(n0 + r) * positions + pos) * g.co, g.co);
      }
    }
  });
}

// A run of consecutive pixels in one output row: where its first pixel's data starts in the padded
// input (filter row 0) and in dy, and how many pixels.
struct PixelRun {
  int64_t a, dy;
  int count;
};

// c[r][0..NV*L) += sum over the runs' pixels pp of a[run.a + pp * lda + r] * b[run.dy + pp * ldb + ...],
// summed in registers over all runs (one pixel chunk), then added; r < rows.
template <int L, int MR, int NV>
inline void microKernelRuns(const PixelRun* runs, int count, const float* a, int64_t lda, const float* b,
                            int64_t ldb, float* c, int64_t ldc, int rows) {
  typename Vec<L>::type acc[MR][NV];
  startTile<L, MR, NV>(acc, c, ldc, rows, false);
  for (int q = 0; q < count; q++) {
    const float* ap = a + runs[q].a;
    const float* bp = b + runs[q].dy;
    for (int pp = 0; pp < runs[q].count; pp++, ap += lda, bp += ldb) addOuterProduct<L, MR, NV>(acc, ap, 1, bp);
  }
  storeTile<L, MR, NV>(acc, c, ldc, rows, true);
}

// Depth tiles of MR values within one filter row (kw * ci values), so that a tile's values are
// consecutive in the padded input; pixel chunks of 256 as in convFilterGradT (the same sums). Threads
// take ranges of tiles, one each (each range reads all of x and dy).
template <int L, int MR, int NV>
void convFilterGradDirectT(const float* x, const float* dy, float* dw, const ConvGeom& g, int threads) {
  constexpr int KC = 256;
  const int64_t lda = int64_t(g.sw) * g.ci;
  const int span = g.kw * g.ci;
  const int tilesPerTap = (span + MR - 1) / MR;
  const int tiles = g.kh * tilesPerTap;
  const int64_t chunks = (g.pixels() + KC - 1) / KC;
  const PaddedInput p = padInput(x, g, MR, threads);
  std::fill(dw, dw + int64_t(g.depth()) * g.co, 0.f);
  parallelFor(tiles, threads, [&](int64_t t0, int64_t t1) {
    std::vector<PixelRun> runs;
    for (int64_t c = 0; c < chunks; c++) {
      runs.clear();
      const int64_t p0 = c * KC, p1 = std::min<int64_t>(p0 + KC, g.pixels());
      for (int64_t q = p0; q < p1;) {
        const int64_t outRow = q / g.ow;
        const int ow = int(q % g.ow);
        const int count = int(std::min<int64_t>(g.ow - ow, p1 - q));
        const int oh = int(outRow % g.oh), n = int(outRow / g.oh);
        runs.push_back({(int64_t(n) * p.hp + int64_t(oh) * g.sh) * p.rowStride + ow * lda, q * g.co, count});
        q += count;
      }
      for (int64_t t = t0; t < t1; t++) {
        const int i = int(t / tilesPerTap), jc0 = int(t % tilesPerTap) * MR;
        const int rows = std::min(MR, span - jc0);
        const int64_t k0 = int64_t(i) * span + jc0;
        const float* a = p.data.get() + i * p.rowStride + jc0;
        for (int j0 = 0; j0 < g.co; j0 += NV * L)
          microKernelRuns<L, MR, NV>(runs.data(), int(runs.size()), a, lda, dy + j0, g.co, dw + k0 * g.co + j0, g.co,
                                     rows);
      }
    }
  }, 1);
}

// ---- dispatch on the output width (channels): widest vector that divides it ----

enum class Op { Forward, FilterGrad };

// The direct kernels run where output rows are at least 8 pixels wide (the forward pass: a multiple of
// its tile), position tiles for the forward pass of smaller images, the packed kernels elsewhere. The
// environment variable BMP_NATIVE_CONV=packed makes every case take the packed kernels (a diagnostic:
// all give the same bits; the tests check that). Options combine: BMP_NATIVE_CONV=packed,unblocked.
inline bool directAllowed() { return !convOption("packed"); }

template <int L>
bool runWith(Op op, const float* in0, const float* in1, float* out, const ConvGeom& g, int threads) {
  const bool two = (g.co / L) % 2 == 0;
  constexpr int wide = kRegs >= 32 ? 2 : 1;  // register budget: 32 (AVX-512) or 16 vectors
  const bool direct = directAllowed();
  if (direct && op == Op::Forward) {
    const int mr = two ? 4 * wide : (g.ow % (8 * wide) == 0 ? 8 * wide : 8);
    if (g.ow % mr == 0 && g.ow >= 8) {
      if (two && wide == 2) convForwardDirectT<L, 8, 2>(in0, in1, out, g, threads);
      else if (two) convForwardDirectT<L, 4, 2>(in0, in1, out, g, threads);
      else if (mr == 16) convForwardDirectT<L, (wide == 2 ? 16 : 8), 1>(in0, in1, out, g, threads);
      else convForwardDirectT<L, 8, 1>(in0, in1, out, g, threads);
      return true;
    }
  }
  if (direct && op == Op::FilterGrad && g.ow >= 8) {
    if (two) convFilterGradDirectT<L, (kRegs >= 32 ? 12 : 4), 2>(in0, in1, out, g, threads);
    else convFilterGradDirectT<L, (kRegs >= 32 ? 16 : 8), 1>(in0, in1, out, g, threads);
    return true;
  }
  // Small output images and batches that fill the tiles: position tiles (convForwardByPositionT).
  if (direct && op == Op::Forward && g.ow < 8 && g.n >= (kRegs >= 32 ? 12 : 6)) {
    if (two) convForwardByPositionT<L, (kRegs >= 32 ? 12 : 6), 2>(in0, in1, out, g, threads);
    else convForwardByPositionT<L, (kRegs >= 32 ? 16 : 8), 1>(in0, in1, out, g, threads);
    return true;
  }
  if (op == Op::Forward) {
    if (two) convForwardT<L, (kRegs >= 32 ? 12 : 6), 2>(in0, in1, out, g, threads);
    else convForwardT<L, (kRegs >= 32 ? 16 : 8), 1>(in0, in1, out, g, threads);
  } else {
    if (two) convFilterGradT<L, (kRegs >= 32 ? 12 : 4), 2>(in0, in1, out, g, threads);
    else convFilterGradT<L, (kRegs >= 32 ? 16 : 8), 1>(in0, in1, out, g, threads);
  }
  return true;
}

// Returns false (nothing written) when the output channels are not a multiple of 4.
inline bool run(Op op, const float* in0, const float* in1, float* out, const ConvGeom& g, int threads) {
  if (g.co % kWideLanes == 0) return runWith<kWideLanes>(op, in0, in1, out, g, threads);
  if (kWideLanes > 8 && g.co % 8 == 0) return runWith<(kWideLanes > 8 ? 8 : kWideLanes)>(op, in0, in1, out, g, threads);
  if (g.co % 4 == 0) return runWith<4>(op, in0, in1, out, g, threads);
  return false;
}

inline bool convForward(const float* x, const float* w, float* y, const ConvGeom& g, int threads) {
  return run(Op::Forward, x, w, y, g, threads);
}

inline bool convFilterGrad(const float* x, const float* dy, float* dw, const ConvGeom& g, int threads) {
  return run(Op::FilterGrad, x, dy, dw, g, threads);
}

// dx for stride 1: the correlation of dy with the flipped, transposed filter.
inline bool convInputGrad(const float* dy, const float* w, float* dx, const ConvGeom& g, int threads) {
  if (g.sh != 1 || g.sw != 1) return false;
  ConvGeom t{g.n, g.oh, g.ow, g.co, g.kh, g.kw, g.ci, g.h, g.w, 1, 1, g.kh - 1 - g.top, g.kw - 1 - g.left};
  if (t.co % 4 != 0) return false;
  // Each tap's [ci, co] matrix transposed, in 16 x 16 blocks (element by element, the writes every ci
  // floats missed the cache on every one: 10 ms for a 512-channel layer).
  constexpr int B = 16;
  std::vector<float> flipped(size_t(g.kh) * g.kw * g.ci * g.co);
  const int taps = g.kh * g.kw;
  parallelFor(taps, threadsFor(int64_t(taps) * g.ci * g.co, threads), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      const float* src = w + t * g.ci * g.co;
      float* dst = flipped.data() + (taps - 1 - t) * g.co * g.ci;  // tap (kh-1-i, kw-1-j)
      for (int c0 = 0; c0 < g.ci; c0 += B)
        for (int o0 = 0; o0 < g.co; o0 += B)
          for (int c = c0; c < std::min(g.ci, c0 + B); c++)
            for (int o = o0; o < std::min(g.co, o0 + B); o++) dst[int64_t(o) * g.ci + c] = src[int64_t(c) * g.co + o];
    }
  });
  return convForward(dy, flipped.data(), dx, t, threads);
}

}  // namespace bmp
