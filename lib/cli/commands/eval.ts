// qinfer eval <model>... (--tokens <file> | --text <file>): perplexity, and KL divergence / top-1 agreement against --reference.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { IoError } from '../../errors.js';
import { type EvaluationResult, evaluateModels } from '../../eval.js';
import { type Model, loadModel } from '../../model.js';
import { invalid } from '../../options.js';
import { readTokenFile } from '../../token-file.js';
import { backendOption, intOption } from '../args.js';
import { createProgress } from '../progress.js';

const help = `qinfer eval <model.gguf>... (--tokens <file> | --text <file>) [options]

  Several models are scored on the same windows, the reference's logits computed once per window.

  --tokens <file>       token ids: .npy (int32) or raw little-endian int32
  --text <file>         UTF-8 text, tokenized with the model's tokenizer (BOS first where it adds one)
  --reference <gguf>    also report KL divergence and top-1 agreement against this model
  --ctx <N>             window size (default 512): consecutive non-overlapping windows, every
                        position after the first of a window scored, no BOS inserted
  --max-windows <N>     score only the first N windows
  --backend <B>, --threads <N>
  --json                print {"perplexity", "kld": {"mean", "p99"}, "top1", ...}; with several models an
                        array of them, each with its "model" path`;

export default async function evalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tokens: { type: 'string' },
      text: { type: 'string' },
      reference: { type: 'string' },
      ctx: { type: 'string' },
      'max-windows': { type: 'string' },
      backend: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (positionals.length === 0) throw invalid('at least one model path', '<model>', undefined);
  if ((values.tokens === undefined) === (values.text === undefined)) throw invalid('exactly one of --tokens and --text', '--tokens', values.tokens ?? values.text);
  const ctx = intOption(values.ctx, '--ctx') ?? 512;
  const load = (p: string) =>
    loadModel(p, { backend: backendOption(values.backend), threads: intOption(values.threads, '--threads'), contextSize: ctx, sequences: 1 });
  const models: Model[] = [];
  let reference: Model | undefined;
  try {
    for (const path of positionals) models.push(await load(path));
    const model = models[0]!;
    if (values.reference !== undefined) reference = await load(values.reference);
    let tokens: Int32Array | number[];
    if (values.tokens !== undefined) {
      tokens = await readTokenFile(values.tokens);
    } else {
      const text = await readFile(values.text!, 'utf8').catch((err: Error) => {
        throw new IoError(`cannot read ${values.text}: ${err.message}`, { cause: err });
      });
      tokens = model.tokenize(text);
    }
    const bar = createProgress('eval');
    const t0 = performance.now();
    const results = await evaluateModels(models, tokens, {
      contextSize: ctx,
      maxWindows: intOption(values['max-windows'], '--max-windows'),
      reference,
      onProgress: (d, t) => bar.update(d, t, `${d}/${t} windows`),
    });
    bar.finish();
    const seconds = (performance.now() - t0) / 1000;
    if (values.json) {
      const out = results.map((r, i) => ({ ...(results.length > 1 ? { model: positionals[i] } : {}), ...r, seconds }));
      console.log(JSON.stringify(out.length === 1 ? out[0] : out));
      return 0;
    }
    results.forEach((r, i) => printResult(results.length > 1 ? positionals[i] : undefined, r));
    console.error(`${seconds.toFixed(1)} s`);
  } finally {
    for (const m of models) m.close();
    reference?.close();
  }
  return 0;
}

function printResult(path: string | undefined, r: EvaluationResult): void {
  if (path !== undefined) console.log(`${path}:`);
  console.log(`perplexity ${r.perplexity.toFixed(4)} over ${r.scoredTokens} tokens (${r.windows} windows of ${r.contextSize})`);
  if (r.kld && r.top1 !== undefined) {
    console.log(`reference perplexity ${r.referencePerplexity!.toFixed(4)}`);
    console.log(`KL divergence mean ${r.kld.mean.toExponential(4)}, p99 ${r.kld.p99.toExponential(4)}, max ${r.kld.max.toExponential(4)}`);
    console.log(`top-1 agreement ${(100 * r.top1).toFixed(3)}%`);
  }
}
