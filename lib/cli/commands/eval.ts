// qinfer eval <model> (--tokens <file> | --text <file>): perplexity, and KL divergence / top-1 agreement against --reference.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';

import { IoError } from '../../errors.js';
import { evaluatePerplexity } from '../../eval.js';
import { type Model, loadModel } from '../../model.js';
import { invalid } from '../../options.js';
import { readTokenFile } from '../../token-file.js';
import { backendOption, intOption } from '../args.js';
import { createProgress } from '../progress.js';

const help = `qinfer eval <model.gguf> (--tokens <file> | --text <file>) [options]

  --tokens <file>       token ids: .npy (int32) or raw little-endian int32
  --text <file>         UTF-8 text, tokenized with the model's tokenizer (BOS first where it adds one)
  --reference <gguf>    also report KL divergence and top-1 agreement against this model
  --ctx <N>             window size (default 512): consecutive non-overlapping windows, every
                        position after the first of a window scored, no BOS inserted
  --max-windows <N>     score only the first N windows
  --backend <B>, --threads <N>
  --json                print {"perplexity", "kld": {"mean", "p99"}, "top1", ...}`;

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
  const [path] = positionals;
  if (!path || positionals.length > 1) throw invalid('one model path', '<model>', positionals.join(' ') || undefined);
  if ((values.tokens === undefined) === (values.text === undefined)) throw invalid('exactly one of --tokens and --text', '--tokens', values.tokens ?? values.text);
  const ctx = intOption(values.ctx, '--ctx') ?? 512;
  const load = (p: string) =>
    loadModel(p, { backend: backendOption(values.backend), threads: intOption(values.threads, '--threads'), contextSize: ctx, sequences: 1 });
  const models: Model[] = [];
  try {
    const model = await load(path);
    models.push(model);
    const reference = values.reference === undefined ? undefined : await load(values.reference);
    if (reference) models.push(reference);
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
    const r = await evaluatePerplexity(model, tokens, {
      contextSize: ctx,
      maxWindows: intOption(values['max-windows'], '--max-windows'),
      reference,
      onProgress: (d, t) => bar.update(d, t, `${d}/${t} windows`),
    });
    bar.finish();
    const seconds = (performance.now() - t0) / 1000;
    if (values.json) {
      console.log(JSON.stringify({ ...r, seconds }));
      return 0;
    }
    console.log(`perplexity ${r.perplexity.toFixed(4)} over ${r.scoredTokens} tokens (${r.windows} windows of ${r.contextSize})`);
    if (r.kld && r.top1 !== undefined) {
      console.log(`reference perplexity ${r.referencePerplexity!.toFixed(4)}`);
      console.log(`KL divergence mean ${r.kld.mean.toExponential(4)}, p99 ${r.kld.p99.toExponential(4)}, max ${r.kld.max.toExponential(4)}`);
      console.log(`top-1 agreement ${(100 * r.top1).toFixed(3)}%`);
    }
    console.error(`${seconds.toFixed(1)} s`);
  } finally {
    for (const m of models) m.close();
  }
  return 0;
}
