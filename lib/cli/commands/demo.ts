// qinfer demo: quantize the packaged dictionary model to a few formats, compare them, and write a dictionary entry.
import { parseArgs } from 'node:util';

import { DEMO_FORMATS, runDemo } from '../../demo.js';
import { invalid } from '../../options.js';
import { backendOption, intOption } from '../args.js';
import { createProgress } from '../progress.js';

const help = `qinfer demo [options]

Quantizes the packaged gcide-llama-25m model (Q8_0, trained on the GCIDE dictionary) to a few formats,
shows each one's size, speed and quality against the Q8_0, then writes a dictionary entry.

  --formats <a,b,...>   quantize presets to compare (default ${DEMO_FORMATS.join(',')})
  --eval-tokens <N>     held-out tokens scored for perplexity and KL divergence (default 1024, at most 2048)
  -n <N>                tokens to generate for the speed figures and the entry (default 64)
  -p, --prompt <text>   the entry's beginning (default 'Quantum \\Quan"tum\\, n.')
  --model <gguf>        another model instead of the packaged one
  --seed <S>, --backend <B>, --threads <N>
  --json                print {"backend", "rows": [{"format", "bytes", "bitsPerWeight", "promptTokensPerSecond",
                        "generationTokensPerSecond", "perplexity", "kld": {"mean", "p99"}, "top1"}], "entry": {"text", ...}}`;

function size(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(0)} kB`;
}

export default async function demoCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      formats: { type: 'string' },
      'eval-tokens': { type: 'string' },
      n: { type: 'string', short: 'n' },
      prompt: { type: 'string', short: 'p' },
      model: { type: 'string' },
      seed: { type: 'string' },
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
  if (positionals.length > 0) throw invalid('no positional arguments', 'demo', positionals.join(' '));
  const bar = createProgress('demo');
  const r = await runDemo({
    model: values.model,
    formats: values.formats?.split(',').map((f) => f.trim()).filter(Boolean),
    evalTokens: intOption(values['eval-tokens'], '--eval-tokens'),
    generateTokens: intOption(values.n, '-n'),
    prompt: values.prompt,
    seed: intOption(values.seed, '--seed'),
    backend: backendOption(values.backend),
    threads: intOption(values.threads, '--threads'),
    onProgress: (stage, done, total) => bar.update(done, total, stage),
  });
  bar.finish();
  if (values.json) {
    console.log(JSON.stringify(r));
    return 0;
  }
  const header = ['format', 'size', 'bits/weight', 'prompt t/s', 'generation t/s', 'perplexity', 'KL mean', 'KL p99', 'top-1'];
  const rows = r.rows.map((row, i) => [
    i === 0 ? `${row.format} (original)` : row.format,
    size(row.bytes),
    row.bitsPerWeight.toFixed(2),
    row.promptTokensPerSecond.toFixed(0),
    row.generationTokensPerSecond.toFixed(0),
    row.perplexity.toFixed(3),
    i === 0 ? '-' : row.kld.mean.toExponential(2),
    i === 0 ? '-' : row.kld.p99.toExponential(2),
    i === 0 ? '-' : `${(100 * row.top1).toFixed(1)}%`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(`gcide-llama-25m on ${r.backend}${r.backendNote ? ` (${r.backendNote})` : ''}; quality on ${r.evalTokens} held-out tokens, against the original\n`);
  console.log(line(header));
  for (const row of rows) console.log(line(row));
  console.log(`\nA dictionary entry (${r.entry.format}, ${r.entry.tokensPerSecond.toFixed(0)} tokens/s):\n`);
  console.log(`${r.entry.prompt}${r.entry.text}\n`);
  console.error(`${r.seconds.toFixed(1)} s`);
  return 0;
}
