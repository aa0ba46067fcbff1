// qinfer quantize <input> -o <out.gguf> --method <m> --format <f> [--calibration <file>] [--tensor-type <regex>=<format> ...] [--json]
import { parseArgs } from 'node:util';

import { InvalidArgumentError } from '../../errors.js';
import { type ActCalibrator, type QuantizeProgress, quantize } from '../../quantize.js';
import { createProgress } from '../progress.js';

const help = `qinfer quantize <input> -o <out.gguf> --format <f> [--method <m>] [--calibration <file>] [options]

Quantizes a GGUF model (F32/F16/BF16) or a Hugging Face model folder.

Options:
  -o, --output <file>          the GGUF file to write
  --format <f>                 llama.cpp preset: q8_0, q6_k, q5_k_m, q5_k_s, q5_0, q5_1, q4_k_m, q4_k_s, q4_0, q4_1,
                               iq4_nl, iq4_xs, q3_k_l, q3_k_m, q3_k_s, q2_k, f16, bf16, f32; or a pure format q5_k, q4_k, q3_k,
                               or qinfer's own 32-element 3-/2-bit q3_32, q2_32 (not loadable by llama.cpp)
  --method <m>                 rtn (default), imatrix, gptq, awq, or combined with '+' (awq+gptq, awq+imatrix);
                               w8a8-dynamic: qinfer's int8 weights x per-token int8 activations (format w8a8);
                               w8a8-static: int8 activations with scales calibrated and stored in the file
  --act-calibrator <c>         w8a8-static: minmax (default), percentile, mse or kl
  --act-percentile <p>         w8a8-static: share of |x| kept in range by the percentile calibrator (default 99.99)
  --smooth-alpha <a|off>       w8a8-static: SmoothQuant migration strength in [0, 1] (default 0.75), off: none
  --calibration <file>         calibration text (.txt) or tokens (.npy int32, raw int32 .bin/.tokens)
  --calibration-tokens <n>     tokens used at most (default 16384)
  --ctx <n>                    tokens per calibration window (default 512)
  --tensor-type <regex>=<f>    override the format of matching tensors (repeatable; first match wins)
  --pure                       every matrix in the base format (no llama.cpp per-tensor mix)
  --act-order                  GPTQ: quantize blocks in decreasing Hessian order
  --damp <x>                   GPTQ: dampening fraction of the mean Hessian diagonal (default 0.01)
  --threads <n>                worker threads (default: physical cores)
  --json                       print {"output","bytes","bitsPerWeight","seconds","peakRssBytes","tensors",...}`;

const MB = 1024 * 1024;

function intOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`Expected an integer for option ${name} but received ${JSON.stringify(value)}`);
  return n;
}

function numberOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`Expected a number for option ${name} but received ${JSON.stringify(value)}`);
  return n;
}

export default async function quantizeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      format: { type: 'string' },
      method: { type: 'string' },
      calibration: { type: 'string' },
      'calibration-tokens': { type: 'string' },
      ctx: { type: 'string' },
      'tensor-type': { type: 'string', multiple: true },
      pure: { type: 'boolean' },
      'act-order': { type: 'boolean' },
      damp: { type: 'string' },
      'act-calibrator': { type: 'string' },
      'act-percentile': { type: 'string' },
      'smooth-alpha': { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError(`Expected one input model but received ${positionals.length}\n\n${help}`);
  if (values.output === undefined) throw new InvalidArgumentError('Expected a file path for option --output but received nothing');
  if (values.format === undefined && !values.method?.startsWith('w8a8')) throw new InvalidArgumentError('Expected a preset or format for option --format but received nothing');
  const tensorTypes = (values['tensor-type'] ?? []).map((spec) => {
    const eq = spec.lastIndexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`Expected <regex>=<format> for option --tensor-type but received ${JSON.stringify(spec)}`);
    return { pattern: spec.slice(0, eq), format: spec.slice(eq + 1) };
  });
  const damp = values.damp === undefined ? undefined : Number(values.damp);
  const activationOptions = [values['act-calibrator'], values['act-percentile'], values['smooth-alpha']];
  const activations = activationOptions.some((v) => v !== undefined) ? {
    calibrator: values['act-calibrator'] as ActCalibrator | undefined,
    percentile: numberOption(values['act-percentile'], '--act-percentile'),
    smoothAlpha: values['smooth-alpha'] === 'off' ? (false as const) : numberOption(values['smooth-alpha'], '--smooth-alpha'),
  } : undefined;
  const progress = createProgress('quantizing');
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let stage = '';
  try {
    const r = await quantize({
      input: positionals[0]!,
      output: values.output,
      recipe: {
        method: values.method,
        format: values.format,
        pure: values.pure,
        tensorTypes,
        gptq: { damp, actOrder: values['act-order'] },
        activations,
      },
      calibration: values.calibration === undefined ? undefined : {
        file: values.calibration,
        maxTokens: intOption(values['calibration-tokens'], '--calibration-tokens'),
        context: intOption(values.ctx, '--ctx'),
      },
      threads: intOption(values.threads, '--threads'),
      signal: controller.signal,
      onProgress: (p: QuantizeProgress) => {
        if (p.stage !== stage) {
          if (stage) progress.update(1, 1, stage);
          stage = p.stage;
        }
        progress.update(p.done, p.total, p.stage);
      },
      onTensorNote: (t) => console.error(`qinfer: ${t.name}: ${t.reason}`),
    });
    progress.finish();
    if (values.json) console.log(JSON.stringify(r));
    else {
      console.log(
        `${r.output}: ${r.format} by ${r.method}, ${(r.bytes / MB).toFixed(1)} MB, ${r.bitsPerWeight.toFixed(3)} bits per weight, ` +
          `${r.seconds.toFixed(1)} s, peak memory ${(r.peakRssBytes / MB).toFixed(0)} MB`,
      );
    }
    return 0;
  } finally {
    progress.finish();
    process.removeListener('SIGINT', onSigint);
  }
}
