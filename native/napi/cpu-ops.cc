// Synchronous access to the CPU forward-pass operators on small inputs, for their tests (active ISA level per call).
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "backends/cpu/kernels.h"
#include "backends/cpu/ops.h"
#include "core/llama-model.h"
#include "core/thread-pool.h"
#include "errors.h"
#include "exports.h"

namespace qinfer::napi {
namespace {

// Outputs start as NaN so that an operator that skips an element cannot pass a test.
Napi::Float32Array poisoned_copy(Napi::Env env, size_t n) {
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  for (size_t i = 0; i < n; i++) out[i] = std::numeric_limits<float>::quiet_NaN();
  return out;
}

Napi::Float32Array copy_of(Napi::Env env, Napi::Float32Array a) {
  Napi::Float32Array out = Napi::Float32Array::New(env, a.ElementLength());
  std::copy(a.Data(), a.Data() + a.ElementLength(), out.Data());
  return out;
}

double num(Napi::Object o, const char *key) { return o.Get(key).As<Napi::Number>().DoubleValue(); }

void require(bool ok, const char *what) {
  if (!ok) throw Error(QINFER_E_INVALID_ARGUMENT, what);
}

// cpuOp(name, args): one operator; the argument object's fields are those of the C++ call.
Napi::Value cpu_op(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string name = info[0].As<Napi::String>();
    Napi::Object a = info[1].As<Napi::Object>();
    const cpu::Kernels &k = cpu::kernels();
    auto f32 = [&](const char *key) { return a.Get(key).As<Napi::Float32Array>(); };
    auto i32 = [&](const char *key) { return a.Get(key).As<Napi::Int32Array>(); };
    if (name == "rmsNorm") {
      auto x = f32("x");
      int64_t n = int64_t(num(a, "n"));
      require(n > 0 && x.ElementLength() % size_t(n) == 0, "rmsNorm: x must hold whole rows");
      const float *w = a.Get("weight").IsTypedArray() ? f32("weight").Data() : nullptr;
      Napi::Float32Array y = poisoned_copy(env, x.ElementLength());
      cpu::rms_norm(k, x.Data(), w, y.Data(), int64_t(x.ElementLength()) / n, n, float(num(a, "eps")));
      return y;
    }
    if (name == "rope") {
      Napi::Float32Array x = copy_of(env, f32("x"));
      auto pos = i32("positions");
      cpu::RopeParams p;
      p.head_dim = int64_t(num(a, "headDim"));
      p.n_dims = int64_t(num(a, "nDims"));
      p.neox = a.Get("neox").ToBoolean();
      p.freq_base = float(num(a, "freqBase"));
      p.freq_scale = float(num(a, "freqScale"));
      if (a.Get("freqFactors").IsTypedArray()) p.freq_factors = f32("freqFactors").Data();
      // YaRN (optional): extFactor, attnFactor, corrDims [low, high].
      if (a.Has("extFactor")) p.ext_factor = float(num(a, "extFactor"));
      if (a.Has("attnFactor")) p.attn_factor = float(num(a, "attnFactor"));
      if (a.Get("corrDims").IsArray()) {
        Napi::Array c = a.Get("corrDims").As<Napi::Array>();
        require(c.Length() == 2, "rope: corrDims must hold [low, high]");
        p.corr_low = c.Get(0u).As<Napi::Number>().FloatValue();
        p.corr_high = c.Get(1u).As<Napi::Number>().FloatValue();
      }
      int64_t n_tokens = int64_t(pos.ElementLength());
      require(p.head_dim > 0 && n_tokens > 0 && x.ElementLength() % size_t(n_tokens * p.head_dim) == 0, "rope: bad shape");
      cpu::rope(x.Data(), n_tokens, int64_t(x.ElementLength()) / (n_tokens * p.head_dim), pos.Data(), p);
      return x;
    }
    if (name == "softmax") {
      Napi::Float32Array x = copy_of(env, f32("x"));
      int64_t n = int64_t(num(a, "n"));
      require(n > 0 && x.ElementLength() % size_t(n) == 0, "softmax: x must hold whole rows");
      cpu::softmax(k, x.Data(), int64_t(x.ElementLength()) / n, n);
      return x;
    }
    if (name == "siluMul") {
      auto g = f32("gate"), u = f32("up");
      require(g.ElementLength() == u.ElementLength(), "siluMul: lengths differ");
      Napi::Float32Array y = poisoned_copy(env, g.ElementLength());
      cpu::silu_mul(k, g.Data(), u.Data(), y.Data(), int64_t(g.ElementLength()));
      return y;
    }
    if (name == "getRows") {
      auto table = a.Get("table").As<Napi::Uint8Array>();
      auto ids = i32("ids");
      int64_t cols = int64_t(num(a, "cols")), rows = int64_t(num(a, "rows"));
      require(cols > 0 && rows > 0, "getRows: bad shape");
      Napi::Float32Array y = poisoned_copy(env, ids.ElementLength() * size_t(cols));
      cpu::get_rows(int32_t(num(a, "type")), table.Data(), rows, cols, ids.Data(), int64_t(ids.ElementLength()), y.Data());
      return y;
    }
    if (name == "yarnCorrDims") {
      float dims[2];
      yarn_corr_dims(int32_t(num(a, "nRot")), int32_t(num(a, "nCtxOrig")), float(num(a, "freqBase")), float(num(a, "betaFast")),
                     float(num(a, "betaSlow")), dims);
      Napi::Array out = Napi::Array::New(env, 2);
      out.Set(0u, Napi::Number::New(env, dims[0]));
      out.Set(1u, Napi::Number::New(env, dims[1]));
      return out;
    }
    if (name == "argmax") {
      auto x = f32("x");
      require(x.ElementLength() > 0, "argmax: x is empty");
      return Napi::Number::New(env, double(cpu::argmax(x.Data(), int64_t(x.ElementLength()))));
    }
    if (name == "topK") {
      auto x = f32("x");
      int64_t kk = int64_t(num(a, "k"));
      std::vector<int32_t> ids(size_t(kk > 0 ? kk : 0));
      std::vector<float> vals(ids.size());
      cpu::top_k(x.Data(), int64_t(x.ElementLength()), kk, ids.data(), vals.data());
      Napi::Array out = Napi::Array::New(env, ids.size());
      for (size_t i = 0; i < ids.size(); i++) out.Set(uint32_t(i), Napi::Number::New(env, ids[i]));
      return out;
    }
    if (name == "attention") {
      // k, v: F32 [n_kv_heads][head_stride][head_dim], stored into a cache of kvType first.
      cpu::AttentionShape s;
      s.n_heads = int64_t(num(a, "nHeads"));
      s.n_kv_heads = int64_t(num(a, "nKvHeads"));
      s.head_dim = int64_t(num(a, "headDim"));
      s.kv_type = int32_t(num(a, "kvType"));
      s.head_stride = int64_t(num(a, "headStride"));
      s.scale = float(num(a, "scale"));
      auto q = f32("q"), kf = f32("k"), vf = f32("v");
      auto n_kv = i32("nKv");
      int64_t n = int64_t(n_kv.ElementLength());
      require(s.n_kv_heads > 0 && s.head_stride > 0 && s.head_dim > 0, "attention: bad shape");
      require(q.ElementLength() == size_t(n * s.n_heads * s.head_dim), "attention: q must be [n][nHeads][headDim]");
      size_t cache_elems = size_t(s.n_kv_heads * s.head_stride * s.head_dim);
      require(kf.ElementLength() == cache_elems && vf.ElementLength() == cache_elems, "attention: k and v must fill the cache");
      uint64_t row = cpu::kv_row_bytes(s.kv_type, s.head_dim);
      std::vector<uint8_t> kc(size_t(row) * size_t(s.n_kv_heads * s.head_stride)), vc(kc.size());
      // Store position by position: the source is head-major, kv_store takes [token][head] rows.
      std::vector<float> tok(static_cast<size_t>(s.n_kv_heads * s.head_dim));
      for (int64_t p = 0; p < s.head_stride; p++) {
        for (int pass = 0; pass < 2; pass++) {
          const float *src = pass ? vf.Data() : kf.Data();
          for (int64_t h = 0; h < s.n_kv_heads; h++)
            std::copy(src + (h * s.head_stride + p) * s.head_dim, src + (h * s.head_stride + p + 1) * s.head_dim,
                      tok.begin() + h * s.head_dim);
          void *dst = (pass ? vc.data() : kc.data()) + size_t(p) * row;
          cpu::kv_store(tok.data(), 1, s, &dst);
        }
      }
      std::vector<cpu::AttentionQuery> queries(static_cast<size_t>(n));
      for (int64_t t = 0; t < n; t++) queries[size_t(t)] = {kc.data(), vc.data(), n_kv[size_t(t)]};
      Napi::Float32Array out = poisoned_copy(env, q.ElementLength());
      cpu::attention(k, default_thread_pool(), q.Data(), n, queries.data(), s, out.Data());
      return out;
    }
    throw Error(QINFER_E_INVALID_ARGUMENT, "cpuOp: unknown operator " + name);
  });
}

void register_exports(Napi::Env env, Napi::Object exports) { exports.Set("cpuOp", Napi::Function::New(env, cpu_op)); }

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
