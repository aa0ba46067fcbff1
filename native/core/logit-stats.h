// Per-position scores of logits: negative log-likelihood of the next token, and KL divergence and top-1 agreement against reference logits.
#pragma once

#include <cstdint>

namespace qinfer {

// rows x n_vocab logits. nll[i] = -log softmax(logits[i])[targets[i]]. With ref (same shape):
// kl[i] = KL(softmax(ref[i]) || softmax(logits[i])), top1[i] = argmaxes equal, ref_nll[i] as nll for ref.
void logit_stats(const float *logits, const float *ref, int64_t rows, int64_t n_vocab, const int32_t *targets, double *nll,
                 double *kl, uint8_t *top1, double *ref_nll);

}  // namespace qinfer
