// actCalibrationClip(values, calibrator, percentile?) -> the clipping threshold a W8A8 static calibrator picks for
// these activations (the calibrators' unit tests feed it synthetic distributions).
#include <algorithm>
#include <cmath>

#include "errors.h"
#include "exports.h"
#include "quant/act-calibrators.h"

namespace qinfer::napi {
namespace {

Napi::Value act_calibration_clip(const Napi::CallbackInfo &info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Error(QINFER_E_INVALID_ARGUMENT, "Expected a Float32Array for argument values");
    if (!info[1].IsString()) throw Error(QINFER_E_INVALID_ARGUMENT, "Expected a calibrator name for argument calibrator");
    auto x = info[0].As<Napi::Float32Array>();
    quant::ActCalibration c;
    c.calibrator = quant::parse_act_calibrator(info[1].As<Napi::String>().Utf8Value());
    if (info[2].IsNumber()) c.percentile = info[2].As<Napi::Number>().DoubleValue();
    if (!(c.percentile > 0 && c.percentile <= 100)) throw Error(QINFER_E_INVALID_ARGUMENT, "the percentile must be in (0, 100]");
    // Two passes as the model's calibration does: the exact maximum fixes the histogram's range.
    double amax = 0;
    for (size_t i = 0; i < x.ElementLength(); i++) amax = std::max(amax, std::fabs(double(x[i])));
    quant::AbsHistogram h(amax);
    h.add(x.Data(), int64_t(x.ElementLength()));
    return Napi::Number::New(info.Env(), quant::calibrate_clip(h, c));
  });
}

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("actCalibrationClip", Napi::Function::New(env, act_calibration_clip));
}

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
