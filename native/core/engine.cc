// The engine's worker loop: slot assignment with prompt-prefix reuse, batch building (decode steps first, then
// prompt chunks), one forward pass per step, sampling, and the end of each request.
#include "core/engine.h"

#include <algorithm>

#include "core/error.h"

namespace qinfer {

namespace {

size_t common_prefix(const std::vector<int32_t> &a, const std::vector<int32_t> &b) {
  size_t n = std::min(a.size(), b.size()), i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

double seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

Engine::Engine(std::shared_ptr<const LlamaModel> model, std::shared_ptr<Forward> forward, const EngineOptions &opt)
    : model_(std::move(model)),
      forward_(std::move(forward)),
      opt_(opt),
      logits_(size_t(opt.n_batch) * size_t(model_->hparams().n_vocab)),
      slots_(size_t(opt.n_seq)) {
  worker_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lk(mutex_);
    stop_ = true;
  }
  interrupt_ = true;
  wake_.notify_all();
  worker_.join();
}

void Engine::submit(std::shared_ptr<Request> r) {
  const int32_t n_vocab = model_->hparams().n_vocab;
  if (r->prompt.empty()) throw Error(QINFER_E_INVALID_ARGUMENT, "the prompt has no tokens");
  for (int32_t t : r->prompt) {
    if (t < 0 || t >= n_vocab) throw Error(QINFER_E_INVALID_ARGUMENT, "token id " + std::to_string(t) + " is outside the vocabulary (0.." + std::to_string(n_vocab - 1) + ")");
  }
  if (r->prompt.size() > size_t(opt_.n_ctx)) {
    throw Error(QINFER_E_CONTEXT_OVERFLOW, "the prompt has " + std::to_string(r->prompt.size()) + " tokens but the context holds " +
                                               std::to_string(opt_.n_ctx) + " (option contextSize)");
  }
  if (r->kind == Request::Kind::kGenerate) r->sampler = std::make_unique<Sampler>(r->sampling);
  {
    std::lock_guard<std::mutex> lk(mutex_);
    if (stop_) throw Error(QINFER_E_INVALID_ARGUMENT, "the model is closed");
    queue_.push_back(std::move(r));
  }
  wake_.notify_all();
}

void Engine::hold(bool on) {
  {
    std::lock_guard<std::mutex> lk(mutex_);
    held_ = on;
  }
  wake_.notify_all();
}

void Engine::abort(const std::shared_ptr<Request> &r) {
  r->abort = true;
  interrupt_ = true;
  wake_.notify_all();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lk(mutex_);
  return stats_;
}

void Engine::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(mutex_);
      wake_.wait(lk, [&] { return stop_ || (!queue_.empty() && !held_) || !active_.empty(); });
      if (stop_) break;
    }
    assign_slots();
    step();
  }
  std::deque<std::shared_ptr<Request>> queued;
  {
    std::lock_guard<std::mutex> lk(mutex_);
    queued.swap(queue_);
  }
  for (auto &r : queued) active_.push_back(r);
  while (!active_.empty()) finish(active_.front(), QINFER_E_ABORTED, "the model was closed");
}

void Engine::assign_slots() {
  std::lock_guard<std::mutex> lk(mutex_);
  while (!queue_.empty() && !held_) {
    std::shared_ptr<Request> r = queue_.front();
    // The free slot that already holds the longest part of the prompt; any slot may lend a longer prefix.
    int32_t best = -1, donor = -1;
    size_t best_len = 0, donor_len = 0;
    for (int32_t s = 0; s < opt_.n_seq; ++s) {
      size_t len = common_prefix(slots_[size_t(s)].tokens, r->prompt);
      if (!slots_[size_t(s)].busy && (best < 0 || len > best_len)) best = s, best_len = len;
      if (len > donor_len) donor = s, donor_len = len;
    }
    if (best < 0) return;
    queue_.pop_front();
    Slot &slot = slots_[size_t(best)];
    if (donor >= 0 && donor != best && donor_len > best_len) {
      forward_->copy_prefix(donor, best, int32_t(donor_len));
      slot.tokens.assign(r->prompt.begin(), r->prompt.begin() + long(donor_len));
      best_len = donor_len;
    }
    // The last prompt token is always evaluated: its logits start the generation.
    size_t reuse = r->all_logits ? 0 : std::min(best_len, r->prompt.size() - 1);
    slot.tokens.resize(reuse);
    slot.busy = true;
    r->slot = best;
    r->fed = reuse;
    r->summary.prompt_tokens = int32_t(r->prompt.size());
    r->summary.reused_tokens = int32_t(reuse);
    if (r->all_logits) r->summary.logits.reserve(r->prompt.size() * size_t(model_->hparams().n_vocab));
    r->t_start = std::chrono::steady_clock::now();
    active_.push_back(std::move(r));
  }
}

void Engine::step() {
  for (size_t i = 0; i < active_.size();) {
    if (active_[i]->abort) {
      finish(active_[i], QINFER_E_ABORTED, "the operation was aborted");
    } else {
      ++i;
    }
  }
  if (active_.empty()) return;

  struct Part {
    std::shared_ptr<Request> r;
    int32_t n;
  };
  std::vector<BatchToken> batch;
  std::vector<Part> parts;
  int32_t budget = opt_.n_batch;
  for (auto &r : active_) {
    if (r->pending_token < 0 || budget == 0) continue;
    batch.push_back({r->pending_token, int32_t(slots_[size_t(r->slot)].tokens.size()), r->slot, true});
    parts.push_back({r, 1});
    --budget;
  }
  for (auto &r : active_) {
    if (r->fed >= r->prompt.size() || budget == 0) continue;
    const int32_t n = int32_t(std::min<size_t>(size_t(budget), r->prompt.size() - r->fed));
    const int32_t pos0 = int32_t(slots_[size_t(r->slot)].tokens.size());
    const bool ends = r->fed + size_t(n) == r->prompt.size();
    for (int32_t i = 0; i < n; ++i) {
      batch.push_back({r->prompt[r->fed + size_t(i)], pos0 + i, r->slot, r->all_logits || (ends && i == n - 1)});
    }
    parts.push_back({r, n});
    budget -= n;
  }

  interrupt_ = false;
  try {
    if (!forward_->eval(batch, logits_.data(), &interrupt_)) return;  // an abort: the next step drops it
  } catch (const Error &e) {
    for (auto &p : parts) finish(p.r, e.status(), e.what());
    return;
  } catch (const std::bad_alloc &) {
    for (auto &p : parts) finish(p.r, QINFER_E_OUT_OF_MEMORY, "out of host memory during evaluation");
    return;
  }
  {
    std::lock_guard<std::mutex> lk(mutex_);
    ++stats_.batches;
    stats_.tokens += batch.size();
    stats_.max_sequences_in_batch = std::max(stats_.max_sequences_in_batch, int32_t(parts.size()));
  }

  const size_t n_vocab = size_t(model_->hparams().n_vocab);
  const float *row = logits_.data();
  for (auto &p : parts) {
    Request &r = *p.r;
    Slot &slot = slots_[size_t(r.slot)];
    if (r.pending_token >= 0 && r.fed == r.prompt.size()) {
      slot.tokens.push_back(r.pending_token);
      r.pending_token = -1;
      after_logits(p.r, row);
      row += n_vocab;
      continue;
    }
    slot.tokens.insert(slot.tokens.end(), r.prompt.begin() + long(r.fed), r.prompt.begin() + long(r.fed + size_t(p.n)));
    r.fed += size_t(p.n);
    const bool done = r.fed == r.prompt.size();
    if (r.all_logits) {
      r.summary.logits.insert(r.summary.logits.end(), row, row + size_t(p.n) * n_vocab);
      row += size_t(p.n) * n_vocab;
    } else if (done) {
      if (r.kind == Request::Kind::kEvaluate) r.summary.logits.assign(row, row + n_vocab);
    }
    if (!done) continue;
    r.t_prompt = std::chrono::steady_clock::now();
    if (r.kind == Request::Kind::kEvaluate) {
      if (!r.all_logits) row += n_vocab;
      finish(p.r, QINFER_OK, "");
    } else {
      after_logits(p.r, row);
      row += n_vocab;
    }
  }
}

void Engine::after_logits(const std::shared_ptr<Request> &r, const float *row) {
  if (r->max_tokens == 0) {
    r->summary.finish_reason = "length";
    finish(r, QINFER_OK, "");
    return;
  }
  const int32_t token = r->sampler->sample(row, model_->hparams().n_vocab);
  if (r->summary.generated_tokens == 0) {
    for (int32_t t : r->prompt) r->sampler->accept(t);
  }
  r->sampler->accept(token);
  ++r->summary.generated_tokens;
  if (r->on_token) r->on_token(token);
  if (std::find(r->eog.begin(), r->eog.end(), token) != r->eog.end()) {
    r->summary.finish_reason = "eog";
  } else if (r->summary.generated_tokens >= r->max_tokens) {
    r->summary.finish_reason = "length";
  } else if (slots_[size_t(r->slot)].tokens.size() >= size_t(opt_.n_ctx)) {
    r->summary.finish_reason = "context";
  } else {
    r->pending_token = token;
    return;
  }
  finish(r, QINFER_OK, "");
}

void Engine::finish(std::shared_ptr<Request> r, qinfer_status status, const std::string &message) {
  auto now = std::chrono::steady_clock::now();
  RequestSummary &s = r->summary;
  s.status = status;
  s.message = message;
  if (status == QINFER_E_ABORTED) s.finish_reason = "aborted";
  if (r->slot >= 0) {
    bool prompt_done = r->fed == r->prompt.size();
    s.prompt_seconds = seconds(r->t_start, prompt_done ? r->t_prompt : now);
    s.generation_seconds = prompt_done ? seconds(r->t_prompt, now) : 0;
    slots_[size_t(r->slot)].busy = false;
    r->slot = -1;
  }
  active_.erase(std::remove(active_.begin(), active_.end(), r), active_.end());
  if (r->on_done) r->on_done(std::move(s));
}

}  // namespace qinfer
