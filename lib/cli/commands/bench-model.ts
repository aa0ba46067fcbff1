// qinfer bench <model>: prompt processing and generation throughput, repeated, with min/median/max.
import { loadModel } from '../../model.js';
import { invalid } from '../../options.js';
import { backendOption, intOption } from '../args.js';

export const modelBenchHelp = `qinfer bench <model.gguf> [options]

  --pp <N>          prompt tokens evaluated in one go (default 512)
  --tg <N>          tokens generated one by one after a 1-token prompt (default 128)
  --reps <N>        repetitions of each, after one warm-up (default 3)
  --backend <B>, --threads <N>
  --json            print {"pp": {"tps": {"min", "median", "max"}}, "tg": {...}, ...}`;

interface Stats {
  tokens: number;
  tps: { min: number; median: number; max: number };
  runs: number[];
}

function stats(tokens: number, runs: number[]): Stats {
  const s = [...runs].sort((a, b) => a - b);
  return { tokens, tps: { min: s[0]!, median: s[Math.floor(s.length / 2)]!, max: s[s.length - 1]! }, runs };
}

/** qinfer bench <model>: `values` parsed by bench.ts. */
export async function modelBenchCommand(positionals: string[], values: Record<string, string | boolean | undefined>): Promise<number> {
  const [path] = positionals;
  if (!path || positionals.length > 1) throw invalid('one model path (or --kernels)', '<model>', positionals.join(' ') || undefined);
  const pp = intOption(values.pp as string | undefined, '--pp') ?? 512;
  const tg = intOption(values.tg as string | undefined, '--tg') ?? 128;
  const reps = intOption(values.reps as string | undefined, '--reps') ?? 3;
  if (pp < 1 || tg < 2 || reps < 1) throw invalid('--pp >= 1, --tg >= 2 and --reps >= 1', '--pp/--tg/--reps', `${pp}/${tg}/${reps}`);
  const model = await loadModel(path, {
    backend: backendOption(values.backend as string | undefined),
    threads: intOption(values.threads as string | undefined, '--threads'),
    contextSize: Math.max(pp, tg + 1),
    batchSize: pp,
    sequences: 1,
  });
  try {
    // Every run starts with a different first token, so nothing is served from the prefix cache.
    let first = 0;
    const prompt = (n: number) => Array.from({ length: n }, (_, i) => (first * 7919 + i * 104729 + 13) % model.vocabularySize);
    const prefill = async (n: number) => {
      first++;
      const t0 = performance.now();
      await model.evaluate(prompt(n));
      return n / ((performance.now() - t0) / 1000);
    };
    const generate = async (n: number) => {
      first++;
      const s = await model.generate(prompt(1), { maxTokens: n, ignoreEog: true }).summary;
      return s.generationTokensPerSecond;
    };
    await prefill(Math.min(pp, 32));
    await generate(4);
    const ppRuns: number[] = [], tgRuns: number[] = [];
    for (let r = 0; r < reps; r++) ppRuns.push(await prefill(pp));
    for (let r = 0; r < reps; r++) tgRuns.push(await generate(tg));
    const result = {
      model: path,
      threads: model.stats().threads,
      memory: model.memory(),
      pp: stats(pp, ppRuns),
      tg: stats(tg, tgRuns),
    };
    if (values.json) {
      console.log(JSON.stringify(result));
    } else {
      const f = (s: Stats) => `${s.tps.median.toFixed(2)} t/s (min ${s.tps.min.toFixed(2)}, max ${s.tps.max.toFixed(2)})`;
      console.log(`${path}: ${(result.memory.fileBytes / 2 ** 20).toFixed(1)} MiB, ${result.threads} threads, ${reps} runs`);
      console.log(`prompt     pp${pp}  ${f(result.pp)}`);
      console.log(`generation tg${tg}  ${f(result.tg)}`);
    }
  } finally {
    model.close();
  }
  return 0;
}
