// qinfer convert <source> -o <out.gguf> [--type f32|f16|bf16] [--json]: Hugging Face folder or llama2.c checkpoint to GGUF.
import { parseArgs } from 'node:util';

import { convert } from '../../convert.js';
import { InvalidArgumentError } from '../../errors.js';
import { createProgress } from '../progress.js';

const help = `qinfer convert <source> -o <out.gguf> [--type f32|f16|bf16] [--json]

Converts to GGUF (llama.cpp's tensor names and metadata):
  - a Hugging Face folder of a Llama-family model (Llama 1/2/3, Mistral, TinyLlama, SmolLM, Qwen2):
    config.json, model.safetensors or sharded model-*.safetensors (F32/F16/BF16), tokenizer.model or tokenizer.json
  - a llama2.c checkpoint (legacy .bin); its tokenizer is not in the file, so the GGUF has a placeholder vocabulary

Options:
  -o, --output <file>  the GGUF file to write
  --type <type>        f32, f16 or bf16 for the weight matrices (default: the checkpoint's own; norms stay f32)
  --json               print the result as JSON`;

const MB = 1024 * 1024;

export default async function convertCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, type: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError(`Expected one source (a model folder or llama2.c checkpoint) but received ${positionals.length}\n\n${help}`);
  if (values.output === undefined) throw new InvalidArgumentError('Expected a file path for option --output but received nothing');
  const progress = createProgress('converting');
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  try {
    const r = await convert({
      input: positionals[0]!,
      output: values.output,
      type: values.type as never,
      signal: controller.signal,
      onProgress: (p) => progress.update(p.bytesDone, p.bytesTotal, `${p.tensorsDone}/${p.tensorsTotal} tensors, ${(p.bytesDone / MB).toFixed(1)} MB`),
    });
    if (values.json) console.log(JSON.stringify(r, null, 2));
    else console.log(`${r.output}: ${r.architecture} from a ${r.source}, ${r.tensors} tensors, ${r.parameters.toLocaleString('en-US')} parameters, ${r.type}, ${(r.bytes / MB).toFixed(1)} MB`);
    return 0;
  } finally {
    progress.finish();
    process.removeListener('SIGINT', onSigint);
  }
}
