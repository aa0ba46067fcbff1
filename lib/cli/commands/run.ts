// qinfer run <model> -p <prompt>: streams the continuation to stdout, speeds to stderr.
import { parseArgs } from 'node:util';

import { loadModel } from '../../model.js';
import { invalid } from '../../options.js';
import { backendOption, intOption, numberOption } from '../args.js';

const help = `qinfer run <model.gguf> (-p <prompt> | --prompt-tokens <ids>) [options]

  -p, --prompt <text>        prompt text (BOS added where the vocabulary adds it)
  --prompt-tokens <ids>      comma-separated token ids instead of text (models without a tokenizer)
  --chat                     treat the prompt as a user message rendered with the model's chat template
  -n, --max-tokens <N>       tokens to generate (default 128)
  --temp <T>                 temperature, 0 = greedy (default 0)
  --top-k <K>, --top-p <P>, --min-p <P>, --repeat-penalty <R>
  --seed <S>                 sampling seed (default random, printed)
  --stop <text>              stop before this text (repeatable)
  --backend <B>, --threads <N>, --ctx <N>
  --json                     print {"tokens", "text", ...} instead of streaming`;

export default async function runCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      prompt: { type: 'string', short: 'p' },
      'prompt-tokens': { type: 'string' },
      chat: { type: 'boolean' },
      'max-tokens': { type: 'string', short: 'n' },
      temp: { type: 'string' },
      'top-k': { type: 'string' },
      'top-p': { type: 'string' },
      'min-p': { type: 'string' },
      'repeat-penalty': { type: 'string' },
      seed: { type: 'string' },
      stop: { type: 'string', multiple: true },
      backend: { type: 'string' },
      threads: { type: 'string' },
      ctx: { type: 'string' },
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
  if ((values.prompt === undefined) === (values['prompt-tokens'] === undefined)) {
    throw invalid('exactly one of -p/--prompt and --prompt-tokens', 'prompt', values.prompt ?? values['prompt-tokens']);
  }
  const model = await loadModel(path, {
    backend: backendOption(values.backend),
    threads: intOption(values.threads, '--threads'),
    contextSize: intOption(values.ctx, '--ctx'),
    sequences: 1,
  });
  try {
    const options = {
      maxTokens: intOption(values['max-tokens'], '--max-tokens') ?? 128,
      temperature: numberOption(values.temp, '--temp'),
      topK: intOption(values['top-k'], '--top-k'),
      topP: numberOption(values['top-p'], '--top-p'),
      minP: numberOption(values['min-p'], '--min-p'),
      repeatPenalty: numberOption(values['repeat-penalty'], '--repeat-penalty'),
      seed: intOption(values.seed, '--seed'),
      stop: values.stop,
    };
    let prompt: string | number[];
    if (values['prompt-tokens'] !== undefined) {
      prompt = values['prompt-tokens'].split(',').map((s) => intOption(s.trim(), '--prompt-tokens')!);
    } else {
      prompt = values.prompt!;
    }
    const generation = values.chat
      ? model.chat([{ role: 'user', content: typeof prompt === 'string' ? prompt : model.detokenize(prompt) }], options)
      : model.generate(prompt, options);
    if (!values.json && typeof prompt === 'string' && !values.chat) process.stdout.write(prompt);
    for await (const piece of generation) {
      if (!values.json) process.stdout.write(piece.text);
    }
    const s = await generation.summary;
    if (values.json) {
      console.log(JSON.stringify(s));
    } else {
      process.stdout.write('\n');
      console.error(
        `prompt: ${s.promptTokens} tokens (${s.reusedTokens} cached), ${s.promptTokensPerSecond.toFixed(1)} t/s | ` +
          `generation: ${s.generatedTokens} tokens, ${s.generationTokensPerSecond.toFixed(1)} t/s | ${s.finishReason} | seed ${s.seed}`,
      );
    }
  } finally {
    model.close();
  }
  return 0;
}
