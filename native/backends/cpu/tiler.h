// Walks a rows x tokens range of a matrix product in register tiles, with smaller tiles at the edges.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

#include "kernels.h"

namespace qinfer::cpu {
namespace {

using TileFn = void (*)(const GemmArgs &, int64_t, int64_t);

// Tile<nr, nt>::run(g, r, t) computes rows [r, r+nr) x tokens [t, t+nt); every nr <= NR, nt <= NT is
// instantiated so the edges keep their accumulators in registers too.
template <template <int, int> class Tile, int NR, int NT>
struct Tiler {
  template <int... I>
  static constexpr std::array<TileFn, NR * NT> table(std::integer_sequence<int, I...>) {
    return {Tile<I / NT + 1, I % NT + 1>::run...};
  }
  static void run(const GemmArgs &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    static constexpr std::array<TileFn, NR * NT> fns = table(std::make_integer_sequence<int, NR * NT>());
    for (int64_t t = t0; t < t1; t += NT) {
      int nt = int(t1 - t < NT ? t1 - t : NT);
      for (int64_t r = r0; r < r1; r += NR) {
        int nr = int(r1 - r < NR ? r1 - r : NR);
        fns[(nr - 1) * NT + (nt - 1)](g, r, t);
      }
    }
  }
};

}  // namespace
}  // namespace qinfer::cpu
