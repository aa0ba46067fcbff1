// The model quantizer: reads tensors from the memory-mapped input, calibrates when the method needs activations,
// searches and folds AWQ scales, and produces each output tensor as the GGUF writer reaches it.
#include "quantize-model.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "awq.h"
#include "core/cpu-model-ops.h"
#include "core/error.h"
#include "core/gguf-writer.h"
#include "rows.h"
#include "w8a8.h"

namespace qinfer::quant {
namespace {

// Which linear input a tensor reads, or which RMSNorm produces one.
struct Role {
  enum Kind { kOther, kLinear, kNorm } kind = kOther;
  int32_t layer = -1;
  LinearInput input = LinearInput::kAttnIn;
  std::string op;  // "attn_q", "ffn_up", ... for linears
};

Role role_of(const std::string &name, bool tied_output) {
  Role r;
  if (name == "output.weight" || (tied_output && name == "token_embd.weight")) {
    r.kind = Role::kLinear;
    r.input = LinearInput::kOutputIn;
    r.op = "output";
    return r;
  }
  int layer = -1, used = 0;
  char op[32] = {0};
  if (std::sscanf(name.c_str(), "blk.%d.%31[a-z_].weight%n", &layer, op, &used) != 2 || size_t(used) != name.size()) return r;
  r.layer = layer;
  r.op = op;
  static const struct { const char *op; LinearInput in; } linears[] = {
      {"attn_q", LinearInput::kAttnIn},  {"attn_k", LinearInput::kAttnIn},   {"attn_v", LinearInput::kAttnIn},
      {"attn_output", LinearInput::kAttnOut}, {"ffn_gate", LinearInput::kFfnIn}, {"ffn_up", LinearInput::kFfnIn},
      {"ffn_down", LinearInput::kFfnDownIn}};
  for (const auto &l : linears)
    if (r.op == l.op) {
      r.kind = Role::kLinear;
      r.input = l.in;
      return r;
    }
  if (r.op == "attn_norm" || r.op == "ffn_norm") {
    r.kind = Role::kNorm;
    r.input = r.op == "attn_norm" ? LinearInput::kAttnIn : LinearInput::kFfnIn;
  }
  return r;
}

// The matrices reading each layer input (LinearInput order).
constexpr const char *kInputOps[4][3] = {{"attn_q", "attn_k", "attn_v"}, {"attn_output", nullptr, nullptr},
                                         {"ffn_gate", "ffn_up", nullptr}, {"ffn_down", nullptr, nullptr}};

struct Shape {
  int64_t rows, cols;
};

Shape shape_of(const GgufTensorInfo &t) { return {int64_t(t.elements / t.ne[0]), int64_t(t.ne[0])}; }

// The tensor as floats (any type the reference table dequantizes).
std::vector<float> load_floats(const GgufFile &file, const GgufTensorInfo &t) {
  const QuantTraits &tr = require_traits(t.type);
  const Shape s = shape_of(t);
  std::vector<float> out(static_cast<size_t>(t.elements));
  const uint8_t *src = file.tensor_data(t);
  const size_t stride = row_bytes(tr, s.cols);
  for (int64_t r = 0; r < s.rows; r++) tr.dequantize(src + size_t(r) * stride, out.data() + r * s.cols, s.cols);
  return out;
}

void check_finite(const std::string &name, const std::vector<float> &x, int64_t cols) {
  for (size_t i = 0; i < x.size(); i++)
    if (!std::isfinite(x[i]))
      throw Error(QINFER_E_INVALID_ARGUMENT, "tensor \"" + name + "\" has a non-finite value (" + std::to_string(x[i]) + ") at row " +
                                                 std::to_string(int64_t(i) / cols) + ", column " + std::to_string(int64_t(i) % cols) +
                                                 ": the source model is corrupt");
}

// Per layer, the AWQ scales of its four linear inputs (empty: not scaled).
struct AwqScales {
  std::vector<std::vector<float>> scales;  // index layer * 4 + input
  const std::vector<float> *of(int32_t layer, LinearInput in) const {
    if (layer < 0 || in == LinearInput::kOutputIn) return nullptr;
    const auto &v = scales[size_t(layer) * 4 + size_t(in)];
    return v.empty() ? nullptr : &v;
  }
};

class ModelQuantizer {
 public:
  ModelQuantizer(const QuantizeJob &job, const std::atomic<bool> *abort, const std::function<void(const QuantizeProgress &)> &progress)
      : job_(job), abort_(abort), progress_(progress), file_(GgufFile::open(job.input, abort)) {
    if (job.types.size() != file_->tensors().size())
      throw Error(QINFER_E_INVALID_ARGUMENT, "the plan has " + std::to_string(job.types.size()) + " tensor types for " +
                                                 std::to_string(file_->tensors().size()) + " tensors");
    tied_ = file_->find_tensor("output.weight") == nullptr;
    ops_ = make_cpu_model_ops(job.threads);
  }

  QuantizeReport run() {
    if (job_.method.w8a8_static) plan_static();
    else if (job_.method.needs_calibration()) calibrate_model();
    if (job_.method.awq) search_awq();
    GgufWriteSpec spec;
    spec.path = job_.output;
    spec.alignment = file_->contents().alignment;
    spec.metadata = file_->metadata();
    for (const GgufKv &kv : job_.metadata) {
      auto it = std::find_if(spec.metadata.begin(), spec.metadata.end(), [&](const GgufKv &m) { return m.key == kv.key; });
      if (it != spec.metadata.end()) *it = kv;
      else spec.metadata.push_back(kv);
    }
    const auto &tensors = file_->tensors();
    for (size_t k = 0; k < tensors.size(); k++) {
      if (job_.types[k] == QINFER_TYPE_W8A8) {
        spec.tensors.push_back(plan_w8a8(tensors[k], W8a8Part::kRows));
        spec.tensors.push_back(plan_w8a8(tensors[k], W8a8Part::kRowScales));
        if (job_.method.w8a8_static) spec.tensors.push_back(plan_w8a8(tensors[k], W8a8Part::kActScale));
      } else {
        spec.tensors.push_back(plan_tensor(tensors[k], job_.types[k]));
      }
    }
    report_.bytes = write_gguf(spec, abort_, [&](const GgufWriteProgress &p) {
      emit(QuantizeStage::kWrite, p.bytes_done, p.bytes_total);
    });
    return report_;
  }

 private:
  void emit(QuantizeStage stage, uint64_t done, uint64_t total) {
    if (progress_) progress_({stage, done, total});
  }

  LlamaModel open_model() const {
    std::vector<TensorSpec> specs;
    for (const GgufTensorInfo &t : file_->tensors()) {
      TensorSpec s;
      s.name = t.name;
      s.type = t.type;
      s.ne.assign(t.ne, t.ne + t.n_dims);
      s.offset = t.offset;
      s.bytes = t.bytes;
      specs.push_back(std::move(s));
    }
    return LlamaModel(job_.input, job_.hparams, specs);
  }

  void calibrate_model() {
    LlamaModel model = open_model();
    CalibrationOptions opt = job_.calibration_options;
    opt.hessian = job_.method.gptq;
    if (job_.method.awq && opt.samples <= 0) opt.samples = 128;
    opt.threads = job_.threads;
    stats_ = calibrate(model, job_.calibration, opt, abort_, [&](int64_t done, int64_t total) {
      emit(QuantizeStage::kCalibrate, uint64_t(done), uint64_t(total));
    });
    report_.calibration_tokens = stats_->tokens;
  }

  // W8A8 static: the activation scales, and SmoothQuant's channel scales folded as AWQ's are (apply_awq).
  void plan_static() {
    W8a8StaticOptions opt;
    opt.calibration = job_.method.act_calibration;
    opt.smooth = job_.method.smooth;
    opt.smooth_alpha = job_.method.smooth_alpha;
    opt.context = job_.calibration_options.context;
    opt.threads = job_.threads;
    auto weight_max = [&](int32_t layer, LinearInput in) {
      std::vector<float> m;
      for (const char *op : kInputOps[int(in)]) {
        if (!op) continue;
        const std::string name = "blk." + std::to_string(layer) + "." + op + ".weight";
        const GgufTensorInfo &t = tensor(name);
        const Shape s = shape_of(t);
        const std::vector<float> w = load_floats(*file_, t);
        check_finite(name, w, s.cols);
        m.resize(size_t(s.cols), 0.0f);
        for (int64_t r = 0; r < s.rows; r++)
          for (int64_t j = 0; j < s.cols; j++) m[size_t(j)] = std::max(m[size_t(j)], std::fabs(w[size_t(r * s.cols + j)]));
      }
      return m;
    };
    LlamaModel model = open_model();
    static_ = plan_w8a8_static(model, job_.calibration, opt, weight_max, abort_, [&](int64_t done, int64_t total) {
      emit(QuantizeStage::kCalibrate, uint64_t(done), uint64_t(total));
    });
    report_.calibration_tokens = int64_t(job_.calibration.size()) / opt.context * opt.context;
    if (job_.method.smooth) awq_.scales = static_.smooth;
  }

  const GgufTensorInfo &tensor(const std::string &name) const {
    const GgufTensorInfo *t = file_->find_tensor(name);
    if (!t) throw Error(QINFER_E_BAD_FILE, job_.input + " has no tensor \"" + name + "\"");
    return *t;
  }

  int32_t out_type(const std::string &name) const {
    const auto &tensors = file_->tensors();
    for (size_t k = 0; k < tensors.size(); k++)
      if (tensors[k].name == name) return job_.types[k];
    return -1;
  }

  // AWQ's search scores candidates by round-to-nearest in the final format: the importance-weighted searches
  // cost about 20 times more per candidate and rank the scales the same way.
  void round_trip(const QuantTraits &t, const float *w, int64_t rows, int64_t cols, float *out) {
    if (t.block_size == 1 || cols % t.block_size) {
      std::copy(w, w + rows * cols, out);
      return;
    }
    std::vector<uint8_t> q(size_t(rows) * row_bytes(t, cols));
    quantize_rows(t, w, rows, cols, nullptr, q.data(), &default_thread_pool(), abort_);
    for (int64_t r = 0; r < rows; r++) t.dequantize(q.data() + size_t(r) * row_bytes(t, cols), out + r * cols, cols);
  }

  void search_awq() {
    const LlamaHparams &hp = job_.hparams;
    awq_.scales.assign(size_t(hp.n_layer) * 4, {});
    const int64_t group = hp.n_head / hp.n_head_kv;
    for (int32_t il = 0; il < hp.n_layer; il++) {
      for (int in = 0; in < 4; in++) {
        if (abort_ && abort_->load()) throw Error(QINFER_E_ABORTED, "quantization was aborted");
        emit(QuantizeStage::kAwq, uint64_t(il * 4 + in), uint64_t(hp.n_layer) * 4);
        const InputStats &st = stats_->at(il, LinearInput(in));
        std::vector<std::vector<float>> floats;
        std::vector<AwqWeight> weights;
        for (const char *op : kInputOps[in]) {
          if (!op) continue;
          const std::string name = "blk." + std::to_string(il) + "." + op + ".weight";
          const GgufTensorInfo &t = tensor(name);
          const QuantTraits *ot = quant_traits(out_type(name));
          if (!ot) throw Error(QINFER_E_UNSUPPORTED, "cannot quantize \"" + name + "\" to type id " + std::to_string(out_type(name)));
          floats.push_back(load_floats(*file_, t));
          check_finite(name, floats.back(), shape_of(t).cols);
          weights.push_back({floats.back().data(), shape_of(t).rows, ot});
        }
        std::vector<float> mean_abs = st.mean_abs();
        if (LinearInput(in) == LinearInput::kAttnOut) {
          // Heads sharing a KV head read the same attn_v rows, so their columns must share one scale.
          const int64_t hd = hp.head_dim;
          for (int64_t kvh = 0; kvh < hp.n_head_kv; kvh++)
            for (int64_t d = 0; d < hd; d++) {
              float sum = 0;
              for (int64_t g = 0; g < group; g++) sum += mean_abs[size_t((kvh * group + g) * hd + d)];
              for (int64_t g = 0; g < group; g++) mean_abs[size_t((kvh * group + g) * hd + d)] = sum / float(group);
            }
        }
        AwqSearch search;
        search.grid = job_.method.awq_grid;
        search.round_trip = [&](const QuantTraits &t, const float *w, int64_t rows, int64_t cols, float *out) {
          round_trip(t, w, rows, cols, out);
        };
        float alpha = 0;
        std::vector<float> s = awq_search(*ops_, weights, st.cols, st.samples.data(), st.sample_rows, mean_abs, search, &alpha);
        report_.awq_alphas.push_back(alpha);
        if (alpha > 0) awq_.scales[size_t(il) * 4 + size_t(in)] = std::move(s);
      }
    }
  }

  // AWQ folding: a norm divided by its input's scales; a linear's columns times them; ffn_up's rows divided by
  // ffn_down's input scales and attn_v's rows by attn_output's (mapped through the KV head groups).
  void apply_awq(const Role &r, std::vector<float> &x, Shape s) const {
    if (r.layer < 0 || awq_.scales.empty()) return;
    if (r.kind == Role::kNorm) {
      if (const auto *sc = awq_.of(r.layer, r.input))
        for (int64_t j = 0; j < s.cols; j++) x[size_t(j)] /= (*sc)[size_t(j)];
      return;
    }
    if (const auto *sc = awq_.of(r.layer, r.input))
      for (int64_t i = 0; i < s.rows; i++)
        for (int64_t j = 0; j < s.cols; j++) x[size_t(i * s.cols + j)] *= (*sc)[size_t(j)];
    const std::vector<float> *rows = nullptr;
    std::vector<float> v_rows;
    if (r.op == "ffn_up") rows = awq_.of(r.layer, LinearInput::kFfnDownIn);
    if (r.op == "attn_v") {
      if (const auto *so = awq_.of(r.layer, LinearInput::kAttnOut)) {
        const LlamaHparams &hp = job_.hparams;
        const int64_t group = hp.n_head / hp.n_head_kv;
        v_rows.resize(static_cast<size_t>(s.rows));
        for (int64_t i = 0; i < s.rows; i++) v_rows[size_t(i)] = (*so)[size_t((i / hp.head_dim) * group * hp.head_dim + i % hp.head_dim)];
        rows = &v_rows;
      }
    }
    if (rows)
      for (int64_t i = 0; i < s.rows; i++)
        for (int64_t j = 0; j < s.cols; j++) x[size_t(i * s.cols + j)] /= (*rows)[size_t(i)];
  }

  // The column scales applied to a linear (for rescaling its importance and Hessian), or null.
  const std::vector<float> *column_scales(const Role &r) const {
    return r.kind == Role::kLinear && !awq_.scales.empty() ? awq_.of(r.layer, r.input) : nullptr;
  }

  void produce(const GgufTensorInfo &t, int32_t type, uint8_t *dst) {
    const QuantTraits &ot = require_traits(type);
    const Shape s = shape_of(t);
    const Role r = role_of(t.name, tied_);
    std::vector<float> x = load_floats(*file_, t);
    check_finite(t.name, x, s.cols);
    apply_awq(r, x, s);
    const InputStats *st = stats_ && r.kind == Role::kLinear ? &stats_->at(r.layer, r.input) : nullptr;
    if (st && st->cols != s.cols) st = nullptr;
    const std::vector<float> *sc = column_scales(r);
    if (ot.block_size > 1 && st && job_.method.gptq) {
      std::vector<double> h(st->hessian);
      if (sc)
        for (int64_t i = 0; i < s.cols; i++)
          for (int64_t j = 0; j < s.cols; j++) h[size_t(i * s.cols + j)] /= double((*sc)[size_t(i)]) * (*sc)[size_t(j)];
      gptq_quantize(ot, x.data(), s.rows, s.cols, h.data(), job_.method.gptq_options, dst, &default_thread_pool(), abort_);
      return;
    }
    std::vector<float> imp;
    // AWQ's second half (the paper's clipping search) is a per-block range search scored by the activations: the
    // importance-weighted quantizers do exactly that, so AWQ always ends with them.
    if (ot.block_size > 1 && st && (job_.method.imatrix || job_.method.awq)) {
      imp = st->importance();
      if (sc)
        for (int64_t j = 0; j < s.cols; j++) imp[size_t(j)] /= (*sc)[size_t(j)] * (*sc)[size_t(j)];
    }
    quantize_rows(ot, x.data(), s.rows, s.cols, imp.empty() ? nullptr : imp.data(), dst, &default_thread_pool(), abort_);
  }

  // W8A8 weights as the int8 rows under the tensor's name, their F32 scales under "<name>.scale" and, for W8A8
  // static, the input's activation scale under "<name>.act_scale" (each computed from the source rows when the writer
  // reaches it, so memory stays one tensor). SmoothQuant's scales apply first, as AWQ's do.
  enum class W8a8Part { kRows, kRowScales, kActScale };
  GgufWriteTensor plan_w8a8(const GgufTensorInfo &t, W8a8Part part) {
    require_traits(t.type);
    if (t.n_dims != 2) throw Error(QINFER_E_UNSUPPORTED, "W8A8 needs a matrix, but \"" + t.name + "\" is not 2-D");
    const Role r = role_of(t.name, tied_);
    GgufWriteTensor w;
    w.name = part == W8a8Part::kRowScales ? t.name + ".scale" : part == W8a8Part::kActScale ? t.name + ".act_scale" : t.name;
    w.type = part == W8a8Part::kRows ? QINFER_TYPE_W8A8 : QINFER_TYPE_F32;
    if (part == W8a8Part::kRowScales) w.shape = {uint64_t(t.ne[1])};
    else if (part == W8a8Part::kActScale) w.shape = {1};
    else w.shape.assign(t.ne, t.ne + t.n_dims);
    w.source.kind = TensorSource::Kind::PRODUCED;
    if (part == W8a8Part::kActScale) {
      if (r.kind != Role::kLinear) throw Error(QINFER_E_UNSUPPORTED, "W8A8 static has no activation scale for \"" + t.name + "\"");
      const float scale = static_.scale_of(r.layer, r.input);
      w.source.produce = [scale](uint8_t *dst, uint64_t) { std::memcpy(dst, &scale, sizeof scale); };
      return w;
    }
    w.source.produce = [this, &t, r, part](uint8_t *dst, uint64_t) {
      const Shape s = shape_of(t);
      std::vector<float> x = load_floats(*file_, t);
      check_finite(t.name, x, s.cols);
      apply_awq(r, x, s);
      default_thread_pool().parallel_for(s.rows, 64, [&](int64_t r0, int64_t r1) {
        for (int64_t i = r0; i < r1; i++) {
          const float *row = x.data() + i * s.cols;
          const float scale = w8a8_scale(row, s.cols);
          if (part == W8a8Part::kRowScales) reinterpret_cast<float *>(dst)[i] = scale;
          else w8a8_round(row, scale, reinterpret_cast<int8_t *>(dst) + i * s.cols, s.cols);
        }
      });
    };
    return w;
  }

  GgufWriteTensor plan_tensor(const GgufTensorInfo &t, int32_t type) {
    GgufWriteTensor w;
    w.name = t.name;
    w.type = type;
    w.shape.assign(t.ne, t.ne + t.n_dims);
    const Role r = role_of(t.name, tied_);
    const bool changed_by_awq = !awq_.scales.empty() && r.kind != Role::kOther && r.input != LinearInput::kOutputIn;
    if (type == t.type && !changed_by_awq) {
      w.source.kind = TensorSource::Kind::FILE;
      w.source.path = job_.input;
      w.source.offset = t.offset;
      w.source.dtype = SourceDtype::RAW;
      return w;
    }
    const QuantTraits &ot = require_traits(type);
    require_traits(t.type);
    check_row_length(ot, int64_t(t.ne[0]));
    w.source.kind = TensorSource::Kind::PRODUCED;
    w.source.produce = [this, &t, type](uint8_t *dst, uint64_t) {
      try {
        produce(t, type, dst);
      } catch (const Error &e) {
        if (std::string(e.what()).find(t.name) != std::string::npos) throw;
        throw Error(e.status(), "tensor \"" + t.name + "\": " + e.what());
      }
    };
    return w;
  }

  const QuantizeJob &job_;
  const std::atomic<bool> *abort_;
  const std::function<void(const QuantizeProgress &)> &progress_;
  std::shared_ptr<GgufFile> file_;
  std::unique_ptr<ModelOps> ops_;
  bool tied_ = false;
  std::optional<CalibrationStats> stats_;
  AwqScales awq_;  // AWQ's scales, or SmoothQuant's for W8A8 static
  W8a8StaticPlan static_;
  QuantizeReport report_;
};

}  // namespace

QuantizeReport quantize_model(const QuantizeJob &job, const std::atomic<bool> *abort,
                              const std::function<void(const QuantizeProgress &)> &progress) {
  return ModelQuantizer(job, abort, progress).run();
}

}  // namespace qinfer::quant
