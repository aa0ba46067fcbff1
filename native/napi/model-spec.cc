// Model hyperparameters from the JS spec, shared by the model and quantizer bindings.
#include "model-spec.h"

#include <string>

#include "core/error.h"

namespace qinfer::napi {

int32_t int_field(Napi::Object o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Error(QINFER_E_INVALID_ARGUMENT, std::string("model spec: ") + key + " is missing");
  return v.As<Napi::Number>().Int32Value();
}

float float_field(Napi::Object o, const char *key) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Error(QINFER_E_INVALID_ARGUMENT, std::string("model spec: ") + key + " is missing");
  return v.As<Napi::Number>().FloatValue();
}

// The spec comes from lib/model-spec.ts, which read and checked the GGUF metadata.
LlamaHparams parse_hparams(Napi::Object o) {
  LlamaHparams hp;
  hp.n_vocab = int_field(o, "nVocab");
  hp.n_embd = int_field(o, "nEmbd");
  hp.n_layer = int_field(o, "nLayer");
  hp.n_head = int_field(o, "nHead");
  hp.n_head_kv = int_field(o, "nHeadKv");
  hp.n_ff = int_field(o, "nFf");
  hp.head_dim = int_field(o, "headDim");
  hp.n_rot = int_field(o, "nRot");
  hp.n_ctx_train = int_field(o, "nCtxTrain");
  hp.rope_layout = int_field(o, "ropeNeox") ? RopeLayout::kNeox : RopeLayout::kNormal;
  hp.rope_theta = float_field(o, "ropeTheta");
  hp.rope_freq_scale = float_field(o, "ropeFreqScale");
  hp.rope_ext_factor = float_field(o, "ropeExtFactor");
  hp.rope_attn_factor = float_field(o, "ropeAttnFactor");
  hp.rope_yarn_beta_fast = float_field(o, "ropeYarnBetaFast");
  hp.rope_yarn_beta_slow = float_field(o, "ropeYarnBetaSlow");
  hp.rope_yarn_orig_ctx = int_field(o, "ropeYarnOrigCtx");
  hp.rms_eps = float_field(o, "rmsEps");
  return hp;
}

}  // namespace qinfer::napi
