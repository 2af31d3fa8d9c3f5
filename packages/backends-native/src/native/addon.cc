// Node-API entry points of @bmp/backends-native. Every kernel takes Float32Array views (on the
// wasm heap, or anywhere else), an Int32Array geometry and a thread count, and returns false when
// it does not cover the case (nothing written), so the caller can run its own kernel instead.
#include <node_api.h>

#include <string>

#include "conv.h"
#include "cpu-features.h"
#include "batch-norm.h"
#include "elementwise.h"
#include "pool.h"
#include "sgd.h"

namespace {

napi_value throwError(napi_env env, const std::string& message) {
  napi_throw_type_error(env, nullptr, ("@bmp/backends-native: " + message).c_str());
  return nullptr;
}

bool floatArray(napi_env env, napi_value v, float** data, size_t* length) {
  bool is = false;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return false;
  napi_typedarray_type type;
  void* raw = nullptr;
  if (napi_get_typedarray_info(env, v, &type, length, &raw, nullptr, nullptr) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  *data = static_cast<float*>(raw);
  return true;
}

// An Int32Array of exactly `want` values.
bool int32Array(napi_env env, napi_value v, size_t want, const int32_t** data) {
  bool is = false;
  napi_typedarray_type type;
  size_t length = 0;
  void* raw = nullptr;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, &length, &raw, nullptr, nullptr) != napi_ok ||
      type != napi_int32_array || length != want)
    return false;
  *data = static_cast<const int32_t*>(raw);
  return true;
}

napi_value boolean(napi_env env, bool b) {
  napi_value out;
  napi_get_boolean(env, b, &out);
  return out;
}

// (a: Float32Array, b: Float32Array, out: Float32Array, geometry: Int32Array(13), threads: number)
// geometry: n, h, w, ci, kh, kw, co, oh, ow, strideH, strideW, padTop, padLeft.
template <bool (*Kernel)(const float*, const float*, float*, const bmp::ConvGeom&, int), int Which>
napi_value convEntry(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc != 5) return throwError(env, "conv kernels take (a, b, out, geometry, threads)");
  float* ptr[3];
  size_t len[3];
  for (int i = 0; i < 3; i++)
    if (!floatArray(env, argv[i], &ptr[i], &len[i]))
      return throwError(env, "argument " + std::to_string(i) + " must be a Float32Array");
  const int32_t* gv;
  if (!int32Array(env, argv[3], 13, &gv)) return throwError(env, "geometry must be an Int32Array of 13 values");
  for (size_t i = 0; i < 13; i++)
    if (gv[i] < (i >= 11 ? -(1 << 20) : 1)) return throwError(env, "geometry value " + std::to_string(i) + " is out of range");
  const bmp::ConvGeom g{gv[0], gv[1], gv[2], gv[3], gv[4], gv[5], gv[6], gv[7], gv[8], gv[9], gv[10], gv[11], gv[12]};
  int32_t threads = 1;
  napi_get_value_int32(env, argv[4], &threads);
  if (threads < 1) threads = 1;
  // Sizes of x/dy, filter, and output for each kernel, checked before any pointer is touched.
  const size_t xs = size_t(g.n) * g.h * g.w * g.ci, ws = size_t(g.kh) * g.kw * g.ci * g.co,
               ys = size_t(g.n) * g.oh * g.ow * g.co;
  size_t want[3];
  if (Which == 0) want[0] = xs, want[1] = ws, want[2] = ys;       // forward: x, w -> y
  else if (Which == 1) want[0] = xs, want[1] = ys, want[2] = ws;  // filter grad: x, dy -> dw
  else want[0] = ys, want[1] = ws, want[2] = xs;                  // input grad: dy, w -> dx
  for (int i = 0; i < 3; i++)
    if (len[i] != want[i])
      return throwError(env, "argument " + std::to_string(i) + " has " + std::to_string(len[i]) +
                                 " elements, the geometry needs " + std::to_string(want[i]));
  return boolean(env, Kernel(ptr[0], ptr[1], ptr[2], g, threads));
}

bool numberArg(napi_env env, napi_value v, double* out) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == napi_number && napi_get_value_double(env, v, out) == napi_ok;
}

// An optional trailing thread count (default 1).
bool threadsArg(napi_env env, size_t argc, napi_value* argv, size_t index, int* threads) {
  *threads = 1;
  if (argc <= index) return true;
  napi_valuetype type;
  if (napi_typeof(env, argv[index], &type) == napi_ok && type == napi_undefined) return true;
  double t;
  if (!numberArg(env, argv[index], &t) || !(t >= 1) || t != double(int(t))) return false;
  *threads = int(t);
  return true;
}

// A call's arguments: `Arrays` Float32Arrays first (p, n: data and lengths), then `Extra` values the entry
// reads itself from argv, then the optional thread count. read() is false when an argument is missing or
// of the wrong type (the entry then throws its usage message).
template <int Arrays, int Extra = 0>
struct Args {
  napi_value argv[Arrays + Extra + 1];
  size_t argc = Arrays + Extra + 1;
  float* p[Arrays];
  size_t n[Arrays];
  int threads = 1;
  bool read(napi_env env, napi_callback_info info) {
    napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
    if (argc < size_t(Arrays + Extra)) return false;
    for (int i = 0; i < Arrays; i++)
      if (!floatArray(env, argv[i], &p[i], &n[i])) return false;
    return threadsArg(env, argc, argv, Arrays + Extra, &threads);
  }
};

// (x: Float32Array, out: Float32Array, scale: number, threads?: number): out[c] = scale * sum over rows
// of x[r, c], with cols = out.length.
napi_value sumRowsEntry(napi_env env, napi_callback_info info) {
  Args<2, 1> a;
  double scale;
  if (!a.read(env, info) || !numberArg(env, a.argv[2], &scale))
    return throwError(env, "sumRows takes (x: Float32Array, out: Float32Array, scale: number, threads?: integer >= 1)");
  const size_t xn = a.n[0], on = a.n[1];
  if (on == 0 || xn % on != 0)
    return throwError(env, "sumRows: x has " + std::to_string(xn) + " elements, not a multiple of out's " + std::to_string(on));
  bmp::sumRows(a.p[0], int64_t(xn / on), int64_t(on), a.p[1], scale, a.threads);
  return boolean(env, true);
}

// (op: 0 add | 1 sub | 2 mul | 3 div, x, v, out, vectorFirst: boolean, threads?: number):
// out[r, c] = x[r, c] op v[c] (or v[c] op x[r, c]), with cols = v.length.
napi_value broadcastRowsEntry(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  float *x, *v, *out;
  size_t xn, vn, on;
  double op;
  bool first = false;
  int threads;
  if (argc < 5 || !numberArg(env, argv[0], &op) || !floatArray(env, argv[1], &x, &xn) ||
      !floatArray(env, argv[2], &v, &vn) || !floatArray(env, argv[3], &out, &on) ||
      napi_get_value_bool(env, argv[4], &first) != napi_ok || !threadsArg(env, argc, argv, 5, &threads))
    return throwError(env, "broadcastRows takes (op, x: Float32Array, v: Float32Array, out: Float32Array, vectorFirst: boolean, threads?: integer >= 1)");
  if (vn == 0 || xn % vn != 0 || on != xn)
    return throwError(env, "broadcastRows: sizes x " + std::to_string(xn) + ", v " + std::to_string(vn) + ", out " + std::to_string(on));
  return boolean(env, bmp::broadcastRows(int(op), x, v, out, int64_t(xn / vn), int64_t(vn), first, threads));
}

// (w, g, u, wOut, uOut: Float32Array, scalars: Float32Array [wd, decay, rate, mu], weightDecay: boolean,
// nesterov: boolean, threads?: number): one momentum-SGD step (sgd.h).
napi_value momentumStepEntry(napi_env env, napi_callback_info info) {
  Args<6, 2> a;
  bool flags[2] = {false, false};
  bool ok = a.read(env, info);
  for (int i = 0; ok && i < 2; i++) ok = napi_get_value_bool(env, a.argv[6 + i], &flags[i]) == napi_ok;
  if (!ok)
    return throwError(env, "momentumStep takes (w, g, u, wOut, uOut: Float32Array, scalars: Float32Array(4), weightDecay: boolean, nesterov: boolean, threads?: integer >= 1)");
  const size_t* n = a.n;
  if (n[5] != 4) return throwError(env, "momentumStep: scalars must hold 4 values (wd, decay, rate, mu), got " + std::to_string(n[5]));
  for (int i = 1; i < 5; i++)
    if (n[i] != n[0])
      return throwError(env, "momentumStep: sizes w " + std::to_string(n[0]) + ", g " + std::to_string(n[1]) + ", u " +
                                 std::to_string(n[2]) + ", wOut " + std::to_string(n[3]) + ", uOut " + std::to_string(n[4]) +
                                 " differ");
  const float* sc = a.p[5];
  const bmp::MomentumStep step{sc[0], sc[1], sc[2], sc[3], flags[0], flags[1]};
  bmp::momentumStep(a.p[0], a.p[1], a.p[2], a.p[3], a.p[4], int64_t(n[0]), step, a.threads);
  return boolean(env, true);
}

// (x, y: Float32Array, threads?: number): y = relu(x) as tfjs-backend-wasm computes it.
napi_value reluEntry(napi_env env, napi_callback_info info) {
  Args<2> a;
  if (!a.read(env, info)) return throwError(env, "relu takes (x, y: Float32Array, threads?: integer >= 1)");
  if (a.n[1] != a.n[0])
    return throwError(env, "relu: sizes x " + std::to_string(a.n[0]) + ", y " + std::to_string(a.n[1]) + " differ");
  bmp::relu(a.p[0], a.p[1], int64_t(a.n[0]), a.threads);
  return boolean(env, true);
}

// (dy, x, dx: Float32Array, threads?: number): dx = dy * step(x), element by element.
napi_value reluGradEntry(napi_env env, napi_callback_info info) {
  Args<3> a;
  if (!a.read(env, info)) return throwError(env, "reluGrad takes (dy, x, dx: Float32Array, threads?: integer >= 1)");
  const size_t* n = a.n;
  if (n[1] != n[0] || n[2] != n[0])
    return throwError(env, "reluGrad: sizes dy " + std::to_string(n[0]) + ", x " + std::to_string(n[1]) + ", dx " +
                               std::to_string(n[2]) + " differ");
  bmp::reluGrad(a.p[0], a.p[1], a.p[2], int64_t(n[0]), a.threads);
  return boolean(env, true);
}

// Reads a pooling geometry (n, h, w, c, outH, outW, filterH, filterW, strideH, strideW, padTop, padLeft);
// false with `error` set when it is not an Int32Array of 12 values with the first 10 >= 1.
bool poolGeometry(napi_env env, napi_value value, const char* name, bmp::PoolGeom* g, std::string* error) {
  const int32_t* v;
  if (!int32Array(env, value, 12, &v)) {
    *error = std::string(name) + " geometry must be an Int32Array of 12 values";
    return false;
  }
  for (int i = 0; i < 10; i++)
    if (v[i] < 1) {
      *error = std::string(name) + " geometry value " + std::to_string(i) + " must be >= 1";
      return false;
    }
  *g = bmp::PoolGeom{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11]};
  return true;
}

// (x, out: Float32Array, geometry: Int32Array(12), threads?: number): max pooling, geometry as below.
napi_value maxPoolEntry(napi_env env, napi_callback_info info) {
  Args<2, 1> a;
  if (!a.read(env, info))
    return throwError(env, "maxPool takes (x, out: Float32Array, geometry: Int32Array(12), threads?: integer >= 1)");
  bmp::PoolGeom g;
  std::string error;
  if (!poolGeometry(env, a.argv[2], "maxPool", &g, &error)) return throwError(env, error);
  const size_t xs = size_t(g.n) * g.h * g.w * g.c, ys = size_t(g.n) * g.oh * g.ow * g.c;
  if (a.n[0] != xs || a.n[1] != ys)
    return throwError(env, "maxPool: sizes x " + std::to_string(a.n[0]) + ", out " + std::to_string(a.n[1]) +
                               " do not match the geometry");
  bmp::maxPool(a.p[0], a.p[1], g, a.threads);
  return boolean(env, true);
}

// (x, dy, dx: Float32Array, geometry: Int32Array(12), threads?: number): n, h, w, c, outH, outW,
// filterH, filterW, strideH, strideW, padTop, padLeft.
napi_value maxPoolGradEntry(napi_env env, napi_callback_info info) {
  Args<3, 1> a;
  if (!a.read(env, info))
    return throwError(env, "maxPoolGrad takes (x, dy, dx: Float32Array, geometry: Int32Array(12), threads?: integer >= 1)");
  bmp::PoolGeom g;
  std::string error;
  if (!poolGeometry(env, a.argv[3], "maxPoolGrad", &g, &error)) return throwError(env, error);
  const size_t xs = size_t(g.n) * g.h * g.w * g.c, ys = size_t(g.n) * g.oh * g.ow * g.c;
  const size_t* n = a.n;
  if (n[0] != xs || n[1] != ys || n[2] != xs)
    return throwError(env, "maxPoolGrad: sizes x " + std::to_string(n[0]) + ", dy " + std::to_string(n[1]) +
                               ", dx " + std::to_string(n[2]) + " do not match the geometry");
  bmp::maxPoolGrad(a.p[0], a.p[1], a.p[2], g, a.threads);
  return boolean(env, true);
}

// (x, out, mean, variance, rstd: Float32Array, epsilon: number, threads?: number): batch-norm forward over
// the rows of x viewed as [rows, C], C = mean.length; out = xhat, or (Relu) y = relu(xhat).
template <bool Relu>
napi_value batchNormForwardEntry(napi_env env, napi_callback_info info) {
  const std::string name = Relu ? "batchNormReluForward" : "batchNormForward";
  const char* out = Relu ? "y" : "xhat";
  Args<5, 1> a;
  double eps;
  if (!a.read(env, info) || !numberArg(env, a.argv[5], &eps))
    return throwError(env, name + " takes (x, " + out +
                               ", mean, variance, rstd: Float32Array, epsilon: number, threads?: integer >= 1)");
  const size_t* n = a.n;
  const size_t c = n[2];
  if (c == 0 || n[0] % c != 0 || n[1] != n[0] || n[3] != c || n[4] != c)
    return throwError(env, name + ": sizes x " + std::to_string(n[0]) + ", " + out + " " + std::to_string(n[1]) +
                               ", mean/variance/rstd " + std::to_string(n[2]) + "/" + std::to_string(n[3]) + "/" +
                               std::to_string(n[4]) + " do not fit [rows, C]");
  float* const* p = a.p;
  bmp::batchNormForward(p[0], int64_t(n[0] / c), int64_t(c), float(eps), Relu ? nullptr : p[1], p[2], p[3], p[4],
                        a.threads, Relu ? p[1] : nullptr);
  return boolean(env, true);
}

// (dy, xhat, rstd: Float32Array(C), dx: Float32Array, threads?: number): the gradient of
// batchNormForward's xhat with respect to x.
napi_value batchNormBackwardEntry(napi_env env, napi_callback_info info) {
  Args<4> a;
  if (!a.read(env, info))
    return throwError(env, "batchNormBackward takes (dy, xhat, rstd, dx: Float32Array, threads?: integer >= 1)");
  const size_t* n = a.n;
  const size_t c = n[2];
  if (c == 0 || n[0] % c != 0 || n[1] != n[0] || n[3] != n[0])
    return throwError(env, "batchNormBackward: sizes dy " + std::to_string(n[0]) + ", xhat " + std::to_string(n[1]) +
                               ", rstd " + std::to_string(n[2]) + ", dx " + std::to_string(n[3]) + " do not fit [rows, C]");
  bmp::batchNormBackward(a.p[0], a.p[1], a.p[2], int64_t(n[0] / c), int64_t(c), a.p[3], a.threads);
  return boolean(env, true);
}

// (dy, x, mean, rstd: Float32Array(C), dx: Float32Array, threads?: number): the gradient of
// batchNormReluForward's y with respect to x (xhat recomputed from x, mean and rstd).
napi_value batchNormReluBackwardEntry(napi_env env, napi_callback_info info) {
  Args<5> a;
  if (!a.read(env, info))
    return throwError(env, "batchNormReluBackward takes (dy, x, mean, rstd, dx: Float32Array, threads?: integer >= 1)");
  const size_t* n = a.n;
  const size_t c = n[2];
  if (c == 0 || n[0] % c != 0 || n[1] != n[0] || n[3] != c || n[4] != n[0])
    return throwError(env, "batchNormReluBackward: sizes dy " + std::to_string(n[0]) + ", x " + std::to_string(n[1]) +
                               ", mean " + std::to_string(n[2]) + ", rstd " + std::to_string(n[3]) + ", dx " +
                               std::to_string(n[4]) + " do not fit [rows, C]");
  bmp::batchNormReluBackward(a.p[0], a.p[1], a.p[2], a.p[3], int64_t(n[0] / c), int64_t(c), a.p[4], a.threads);
  return boolean(env, true);
}

napi_value infoEntry(napi_env env, napi_callback_info) {
  napi_value out, lanes, isa;
  napi_create_object(env, &out);
  napi_create_int32(env, bmp::kWideLanes, &lanes);
  napi_create_string_utf8(env, bmp::compiledIsa(), NAPI_AUTO_LENGTH, &isa);
  napi_set_named_property(env, out, "lanes", lanes);
  napi_set_named_property(env, out, "isa", isa);
  return out;
}

// () => { [feature]: boolean }: the CPU features the variants need (cpu-features.h).
napi_value cpuFeaturesEntry(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_object(env, &out);
  for (const auto& f : bmp::cpuFeatures()) napi_set_named_property(env, out, f.first.c_str(), boolean(env, f.second));
  return out;
}

napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"convForward", nullptr, convEntry<bmp::convForward, 0>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convFilterGrad", nullptr, convEntry<bmp::convFilterGrad, 1>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"convInputGrad", nullptr, convEntry<bmp::convInputGrad, 2>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sumRows", nullptr, sumRowsEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"broadcastRows", nullptr, broadcastRowsEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"momentumStep", nullptr, momentumStepEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"relu", nullptr, reluEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPool", nullptr, maxPoolEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reluGrad", nullptr, reluGradEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, maxPoolGradEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormForward", nullptr, batchNormForwardEntry<false>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormBackward", nullptr, batchNormBackwardEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormReluForward", nullptr, batchNormForwardEntry<true>, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"batchNormReluBackward", nullptr, batchNormReluBackwardEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, infoEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"cpuFeatures", nullptr, cpuFeaturesEntry, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(bmp_backends_native, init)
