// What the CPU (and the OS, for the AVX register state) supports, so that the loader can pick the widest
// addon variant that will run: an instruction the CPU lacks kills the process with SIGILL, which no
// fallback can catch. Names as in Linux's /proc/cpuinfo (`abm` is LZCNT); only the features that the
// variants' -march levels add (see scripts/native-target.mjs) are reported.
#pragma once
#include <string>
#include <utility>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#endif

namespace bmp {

inline std::vector<std::pair<std::string, bool>> cpuFeatures() {
  std::vector<std::pair<std::string, bool>> out;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // __builtin_cpu_supports checks XCR0 too: AVX and AVX-512 count only when the OS saves their registers.
  __builtin_cpu_init();
  out.emplace_back("sse4_2", __builtin_cpu_supports("sse4.2"));
  out.emplace_back("ssse3", __builtin_cpu_supports("ssse3"));
  out.emplace_back("popcnt", __builtin_cpu_supports("popcnt"));
  out.emplace_back("avx", __builtin_cpu_supports("avx"));
  out.emplace_back("avx2", __builtin_cpu_supports("avx2"));
  out.emplace_back("fma", __builtin_cpu_supports("fma"));
  out.emplace_back("bmi1", __builtin_cpu_supports("bmi"));
  out.emplace_back("bmi2", __builtin_cpu_supports("bmi2"));
  out.emplace_back("avx512f", __builtin_cpu_supports("avx512f"));
  out.emplace_back("avx512bw", __builtin_cpu_supports("avx512bw"));
  out.emplace_back("avx512cd", __builtin_cpu_supports("avx512cd"));
  out.emplace_back("avx512dq", __builtin_cpu_supports("avx512dq"));
  out.emplace_back("avx512vl", __builtin_cpu_supports("avx512vl"));
  // Not every compiler's __builtin_cpu_supports names these three: read CPUID directly.
  unsigned a = 0, b = 0, c = 0, d = 0;
  const bool leaf1 = __get_cpuid(1, &a, &b, &c, &d) != 0;
  out.emplace_back("f16c", leaf1 && (c & (1u << 29)) != 0);
  out.emplace_back("movbe", leaf1 && (c & (1u << 22)) != 0);
  const bool ext = __get_cpuid(0x80000001u, &a, &b, &c, &d) != 0;
  out.emplace_back("abm", ext && (c & (1u << 5)) != 0);
#endif
  return out;
}

// The instruction set this translation unit is compiled for, as the build names its variants.
inline const char* compiledIsa() {
#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__)
  return "avx512";
#elif defined(__AVX2__) && defined(__FMA__)
  return "avx2";
#elif defined(__x86_64__) || defined(__aarch64__)
  return "baseline";
#else
  return "generic";
#endif
}

}  // namespace bmp
