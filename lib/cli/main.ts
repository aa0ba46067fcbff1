#!/usr/bin/env node
// qinfer CLI: a thin layer over the API; each command lives in its own file under commands/.
import { runCommand } from './run-command.js';

const commands: Record<string, () => Promise<{ default: (argv: string[]) => Promise<number> }>> = {
  bench: () => import('./commands/bench.js'),
  demo: () => import('./commands/demo.js'),
  probe: () => import('./commands/probe.js'),
  convert: () => import('./commands/convert.js'),
  tokenize: () => import('./commands/tokenize.js'),
  quantize: () => import('./commands/quantize.js'),
  run: () => import('./commands/run.js'),
  eval: () => import('./commands/eval.js'),
  inspect: () => import('./commands/inspect.js'),
};

const usage = `qinfer <command> [options]

Commands:
  demo [--formats q4_0,...] [--json]
                    quantize the packaged dictionary model, compare the formats, write an entry
  bench <model> [--threads N] [--json]
                    prompt (512 tokens) and generation (128 tokens) throughput
  bench --kernels [--json]
                    CPU kernel speed against this machine's measured memory bandwidth
  probe [--json]    describe this machine's CPU, GPUs and usable backends
  convert <source> -o <out.gguf> [--type f32|f16|bf16] [--json]
                    Hugging Face folder or llama2.c checkpoint to GGUF
  tokenize <model.gguf> [--no-bos] [--json] (<text> | --file <path>)
                    token ids of a text
  quantize <input> -o <out.gguf> --format <f> [--method rtn|imatrix|gptq|awq|awq+gptq] [--calibration <file>]
                    quantize a GGUF or Hugging Face model (llama.cpp presets, per-tensor overrides)
  run <model> -p <prompt> [-n N] [--temp T] [--seed S]
                    generate text, streamed to stdout
  eval <model> (--tokens F | --text F) [--reference M] [--ctx 512]
                    perplexity, and KL divergence / top-1 agreement against a reference
  inspect <model> [--json]
                    describe a GGUF, a safetensors file or a Hugging Face model folder

Run "qinfer <command> --help" for a command's options.`;

const [name, ...rest] = process.argv.slice(2);
if (!name || name === '--help' || name === '-h') {
  console.log(usage);
  process.exit(name ? 0 : 2);
}
const load = commands[name];
if (!load) {
  console.error(`qinfer: unknown command "${name}"\n\n${usage}`);
  process.exit(2);
}
process.exitCode = await runCommand(rest, async () => (await load()).default(rest));
