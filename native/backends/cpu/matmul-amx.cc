// Q8_0 and Q4_0 products of 16 or more tokens on AMX tiles (AMX-INT8, Sapphire Rapids and later):
// each tile product is 16 tokens x 16 weight rows over one 32-element block (tdpbssd), and its int32
// results are scaled by the block scales into float accumulators with AVX-512, since every block has
// its own scale. The tokens are read in place (the kernels' Act32 layout: a token's 8-bit elements
// are contiguous); the weights of 16 rows are rearranged once per row group into the tiles' layout
// (4 consecutive elements of each of the 16 rows side by side), Q4_0 unpacked to signed bytes on the
// way, and reused by every token tile. Fewer tokens, QINFER_CPU_AMX=0, or a kernel that refuses the
// tile permission use the AVX-512 VNNI kernels instead. Compiled with -mamx-tile -mamx-int8; used only
// when cpuid and the OS report AMX.
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/cpu-info.h"
#include "kernels.h"
#include "simd-avx512.h"

namespace qinfer::cpu {
namespace {

constexpr int kTile = 16;          // tokens (tile rows) and weight rows (tile columns) of one product
constexpr int kMinTokens = 16;     // below one full token tile the VNNI lane kernels are as fast
constexpr size_t kPackedBlock = 512;  // one block of 16 rows in the tile layout: 8 x 64 bytes

struct TileConfig {
  uint8_t palette, start_row;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

// Tiles 0/1: tokens x 32 bytes of activations; 2/3: 8 rows of 64 bytes of weights; 4/5: tokens x 16 int32.
void configure(int tokens) {
  alignas(64) TileConfig c{};
  c.palette = 1;
  for (int t : {0, 1}) c.rows[t] = uint8_t(tokens), c.colsb[t] = 32;
  for (int t : {2, 3}) c.rows[t] = 8, c.colsb[t] = 64;
  for (int t : {4, 5}) c.rows[t] = uint8_t(tokens), c.colsb[t] = 64;
  // GCC 12 does not see the builtin read the whole struct and drops these stores without a barrier.
  asm volatile("" : : "r"(&c) : "memory");
  _tile_loadconfig(&c);
}

// Rows of one group in the tile layout: q[b][k][4n + i] = element 4k + i of block b of row n, and
// d[b][n] = row n's scale of block b (rows beyond the group's count hold zeros).
struct PackedRows {
  std::vector<int8_t> q;
  std::vector<float> d;
};


struct AmxQ8_0 {
  using Block = qinfer_block_q8_0;
  static void pack(const uint8_t *w, size_t stride, __mmask16 rows, int64_t nb, PackedRows &p) {
    const __m512i offsets = strided_offsets(stride);
    for (int64_t b = 0; b < nb; b++) {
      const uint8_t *blk = w + b * sizeof(Block);
      _mm512_storeu_ps(p.d.data() + b * kTile, gather_block_scales(blk, offsets, rows));
      for (int k = 0; k < 8; k++)
        _mm512_storeu_si512(p.q.data() + b * kPackedBlock + k * 64,
                            _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), rows, offsets, blk + offsetof(Block, qs) + 4 * k, 1));
    }
  }
};

struct AmxQ4_0 {
  using Block = qinfer_block_q4_0;
  static void pack(const uint8_t *w, size_t stride, __mmask16 rows, int64_t nb, PackedRows &p) {
    const __m512i offsets = strided_offsets(stride), low = _mm512_set1_epi8(0x0F), eight = _mm512_set1_epi8(8);
    for (int64_t b = 0; b < nb; b++) {
      const uint8_t *blk = w + b * sizeof(Block);
      _mm512_storeu_ps(p.d.data() + b * kTile, gather_block_scales(blk, offsets, rows));
      // Bytes 4k..4k+3 hold elements 4k..4k+3 in their low nibbles and 16+4k.. in their high ones.
      for (int k = 0; k < 4; k++) {
        __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), rows, offsets, blk + offsetof(Block, qs) + 4 * k, 1);
        int8_t *q = p.q.data() + b * kPackedBlock;
        _mm512_storeu_si512(q + k * 64, _mm512_sub_epi8(_mm512_and_si512(v, low), eight));
        _mm512_storeu_si512(q + (4 + k) * 64, _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi32(v, 4), low), eight));
      }
    }
  }
};

// acc[m] += C[m] * (row scales * token m's scale), for one block.
inline void scale_block(const int32_t (&c)[kTile][kTile], const float *dw, const float *const (&dx)[kTile], int64_t b, __m512 (&acc)[kTile]) {
  const __m512 w = _mm512_loadu_ps(dw);
  for (int m = 0; m < kTile; m++)
    acc[m] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c[m])), _mm512_mul_ps(w, _mm512_set1_ps(dx[m][b])), acc[m]);
}

bool amx_disabled() {
  const char *v = std::getenv("QINFER_CPU_AMX");
  return v && std::strcmp(v, "0") == 0;
}

template <class F>
struct Amx {
  static inline void (*fallback)(const GemmArgs &, int64_t, int64_t, int64_t, int64_t) = nullptr;

  static void run(const GemmArgs &g, int64_t r0, int64_t r1, int64_t t0, int64_t t1) {
    if (t1 - t0 < kMinTokens || amx_disabled()) return fallback(g, r0, r1, t0, t1);
    const int64_t nb = g.cols / 32;
    thread_local PackedRows p;
    thread_local std::vector<float> zeros;  // scales of the token rows past the last token
    p.q.resize(size_t(nb) * kPackedBlock);
    p.d.resize(size_t(nb) * kTile);
    if (zeros.size() < size_t(nb)) zeros.assign(size_t(nb), 0.0f);
    alignas(64) int32_t c[2][kTile][kTile];
    int configured = 0;
    for (int64_t r = r0; r < r1; r += kTile) {
      const int n = int(r1 - r < kTile ? r1 - r : kTile);
      const __mmask16 rows = __mmask16((1u << n) - 1);
      F::pack(g.w + size_t(r) * g.w_stride, g.w_stride, rows, nb, p);
      for (int64_t t = t0; t < t1; t += kTile) {
        const int nt = int(t1 - t < kTile ? t1 - t : kTile);
        if (nt != configured) configure(configured = nt);
        const uint8_t *a = g.act + size_t(t) * g.act_stride;  // Act32: 8-bit elements, then the block scales
        const float *dx[kTile];
        for (int m = 0; m < kTile; m++)
          dx[m] = m < nt ? reinterpret_cast<const float *>(a + size_t(m) * g.act_stride + g.cols) : zeros.data();
        __m512 acc[kTile];
        for (int m = 0; m < kTile; m++) acc[m] = _mm512_setzero_ps();
        // Pipelined: block b's tile product is issued, then block b-1's result is stored, then block b-2's
        // (stored an iteration ago, so its loads do not wait on the tile store) is scaled.
        // (The tile intrinsics take literal register numbers: tiles 0, 2, 4 serve even blocks, 1, 3, 5 odd.)
        auto product = [&](int64_t blk) {
          if (blk % 2 == 0) {
            _tile_loadd(0, a + blk * 32, g.act_stride);
            _tile_loadd(2, p.q.data() + blk * kPackedBlock, 64);
            _tile_zero(4);
            _tile_dpbssd(4, 0, 2);
          } else {
            _tile_loadd(1, a + blk * 32, g.act_stride);
            _tile_loadd(3, p.q.data() + blk * kPackedBlock, 64);
            _tile_zero(5);
            _tile_dpbssd(5, 1, 3);
          }
        };
        for (int64_t blk = 0; blk < nb + 2; blk++) {
          if (blk < nb) product(blk);
          if (blk >= 1 && blk - 1 < nb) {
            if (blk % 2) _tile_stored(4, c[0], 64);
            else _tile_stored(5, c[1], 64);
          }
          if (blk >= 2) scale_block(c[blk % 2], p.d.data() + (blk - 2) * kTile, dx, blk - 2, acc);
        }
        for (int m = 0; m < nt; m++) _mm512_mask_storeu_ps(g.y + (t + m) * g.ldy + r, rows, acc[m]);
      }
    }
    _tile_release();
  }
};

}  // namespace

bool amx_available() {
  // Linux hands out the tile state only on request (arch_prctl ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA).
  static const bool ok = cpu_info().features.amx && syscall(SYS_arch_prctl, 0x1023, 18) == 0;
  return ok;
}

GemmKernel gemm_amx(int32_t type, const GemmKernel &vnni) {
  GemmKernel k = vnni;
  if (type == QINFER_TYPE_Q8_0) {
    Amx<AmxQ8_0>::fallback = vnni.gemm;
    k.gemm = Amx<AmxQ8_0>::run;
  } else if (type == QINFER_TYPE_Q4_0) {
    Amx<AmxQ4_0>::fallback = vnni.gemm;
    k.gemm = Amx<AmxQ4_0>::run;
  }
  return k;
}

}  // namespace qinfer::cpu
