// Max pooling and its gradient for NHWC float32. The gradient: each window's first maximum (row-major, strict >) per channel
// receives the window's dy; windows of only NaN / -Infinity pass nothing (tfjs-backend-cpu's rule).
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "thread-pool.h"

namespace bmp {

struct PoolGeom {
  int n, h, w, c, oh, ow, fh, fw, sh, sw, top, left;
};

inline void maxPoolGradImages(const float* x, const float* dy, float* dx, const PoolGeom& g, int n0, int n1) {
  std::vector<float> best(g.c);
  std::vector<int64_t> at(g.c);
  for (int n = n0; n < n1; n++)
    for (int oy = 0; oy < g.oh; oy++) {
      const int y0 = oy * g.sh - g.top;
      const int yMin = y0 < 0 ? 0 : y0, yMax = y0 + g.fh < g.h ? y0 + g.fh : g.h;
      for (int ox = 0; ox < g.ow; ox++) {
        const int x0 = ox * g.sw - g.left;
        const int xMin = x0 < 0 ? 0 : x0, xMax = x0 + g.fw < g.w ? x0 + g.fw : g.w;
        for (int c = 0; c < g.c; c++) {
          best[c] = -std::numeric_limits<float>::infinity();
          at[c] = -1;
        }
        for (int y = yMin; y < yMax; y++)
          for (int xx = xMin; xx < xMax; xx++) {
            const int64_t base = ((int64_t(n) * g.h + y) * g.w + xx) * g.c;
            for (int c = 0; c < g.c; c++) {
              const float v = x[base + c];
              if (v > best[c]) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        const float* d = dy + ((int64_t(n) * g.oh + oy) * g.ow + ox) * g.c;
        for (int c = 0; c < g.c; c++)
          if (at[c] >= 0) dx[at[c]] += d[c];
      }
    }
}

// Max pooling: out[n, oy, ox, c] = the largest value of the window inside the image (strict >, so NaN
// is skipped; -Infinity for a window of only NaN or padding), tfjs-backend-cpu's rule.
inline void maxPool(const float* x, float* out, const PoolGeom& g, int threads) {
  const int64_t size = int64_t(g.n) * g.h * g.w * g.c;
  const int64_t rows = int64_t(g.n) * g.oh;
  parallelFor(rows, threadsFor(size, threads), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) {
      const int n = int(r / g.oh), oy = int(r % g.oh);
      const int y0 = oy * g.sh - g.top;
      const int yMin = y0 < 0 ? 0 : y0, yMax = y0 + g.fh < g.h ? y0 + g.fh : g.h;
      for (int ox = 0; ox < g.ow; ox++) {
        const int x0 = ox * g.sw - g.left;
        const int xMin = x0 < 0 ? 0 : x0, xMax = x0 + g.fw < g.w ? x0 + g.fw : g.w;
        float* o = out + ((int64_t(n) * g.oh + oy) * g.ow + ox) * g.c;
        for (int c = 0; c < g.c; c++) o[c] = -std::numeric_limits<float>::infinity();
        for (int y = yMin; y < yMax; y++)
          for (int xx = xMin; xx < xMax; xx++) {
            const float* v = x + ((int64_t(n) * g.h + y) * g.w + xx) * g.c;
            for (int c = 0; c < g.c; c++) o[c] = v[c] > o[c] ? v[c] : o[c];
          }
      }
    }
  });
}

// Images are independent (a window never spans two), so they are split over the threads.
inline void maxPoolGrad(const float* x, const float* dy, float* dx, const PoolGeom& g, int threads) {
  const int64_t size = int64_t(g.n) * g.h * g.w * g.c;
  parallelFor(g.n, threadsFor(size, threads), [&](int64_t n0, int64_t n1) {
    const int64_t image = int64_t(g.h) * g.w * g.c;
    for (int64_t i = n0 * image; i < n1 * image; i++) dx[i] = 0.f;
    maxPoolGradImages(x, dy, dx, g, int(n0), int(n1));
  });
}

}  // namespace bmp
