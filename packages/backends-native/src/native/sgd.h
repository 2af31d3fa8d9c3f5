// One momentum-SGD step over a weight tensor, in one pass: the float32 operations of @bmp/optimizer's
// composed tfjs ops, each rounded on its own, so the results are the same bits:
//   g' = g + wd * w          (only with weightDecay)
//   u' = decay * u + g'
//   s  = nesterov ? g' + mu * u' : u'
//   w' = w - rate * s
// Compilers may fuse a * b + c into one FMA (one rounding instead of two), which would change the bits:
// GCC contracts across statements by default, so the loop is compiled with fp-contract off; Clang only
// contracts within one expression, and every product here is its own statement.
#pragma once
#include <cstdint>

#include "thread-pool.h"

namespace bmp {

struct MomentumStep {
  float wd, decay, rate, mu;
  bool weightDecay, nesterov;
};

#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
inline void momentumStepRange(const float* w, const float* g, const float* u, float* wOut, float* uOut,
                              const MomentumStep& s, int64_t b, int64_t e) {
  for (int64_t i = b; i < e; i++) {
    float grad = g[i];
    if (s.weightDecay) {
      const float decayTerm = s.wd * w[i];
      grad = grad + decayTerm;
    }
    const float kept = s.decay * u[i];
    const float next = kept + grad;
    float step = next;
    if (s.nesterov) {
      const float ahead = s.mu * next;
      step = grad + ahead;
    }
    const float delta = s.rate * step;
    wOut[i] = w[i] - delta;
    uOut[i] = next;
  }
}

inline void momentumStep(const float* w, const float* g, const float* u, float* wOut, float* uOut, int64_t n,
                         const MomentumStep& s, int threads) {
  parallelFor(n, threadsFor(n, threads), [&](int64_t b, int64_t e) { momentumStepRange(w, g, u, wOut, uOut, s, b, e); });
}

}  // namespace bmp
