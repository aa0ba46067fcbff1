// Fusion of op sequences of a decode step into single dispatches, checked so that the fused shader computes what the
// ops compute one after another: the operands it reads are never written by it, except where one invocation reads
// and then writes the same element.
//   RMS_NORM or SILU_MUL (its output at most kMatvecStagedMax floats), then a Q4_0/Q8_0 product of its output
//   (1-8 tokens), then an ADD_F32 of the product and a residual (each part optional, at least two): one matvec.comp
//   dispatch (FUSED).
//   ROPE, then the KV_STORE of its rotated K heads and/or another KV_STORE (V) at the same positions: one
//   rope-kv.comp dispatch.
#pragma once

#include "vk-ops.h"

namespace qinfer::vk {

// Plans ops[i..] as one fused dispatch in *out; returns how many ops it covers (0: none, plan ops[i] alone).
int plan_fused(const qinfer_op *ops, int n, int i, bool coopmat, Dispatch *out);

}  // namespace qinfer::vk
