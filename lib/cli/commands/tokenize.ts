// qinfer tokenize <model.gguf> [--no-bos] [--special] [--json] (<text> | --file <path>): token ids
// of a text with the file's tokenizer (vocabulary-only GGUF files work too).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { invalid } from '../../options.js';
import { loadTokenizer } from '../../tokenizer/gguf.js';

const help = `qinfer tokenize <model.gguf> [--no-bos] [--special] [--json] (<text> | --file <path>)

Prints the token ids of a text, one "id<TAB>piece" line per token (--json: {"tokens": [...]}).
  --file <path>   tokenize the exact UTF-8 content of a file (texts that start with '-' or hold any
                  whitespace; "--" before a positional text works too)
  --no-bos        do not put the BOS token first (default: as the vocabulary says)
  --special       recognize control tokens written in the text, such as "<|eot_id|>"`;

export default async function tokenizeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      file: { type: 'string' },
      'no-bos': { type: 'boolean' },
      special: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(help);
    return 0;
  }
  const [model, text, ...extra] = positionals;
  if (model === undefined) throw invalid('a GGUF file path', '<model.gguf>', model);
  if (extra.length > 0) throw invalid('one text (quote it, or use --file)', '<text>', positionals.slice(1).join(' '));
  if (text === undefined && values.file === undefined) throw invalid('a text argument or --file <path>', '<text>', text);
  if (text !== undefined && values.file !== undefined) throw invalid('no text argument next to it', '--file', values.file);
  const input = values.file !== undefined ? readFileSync(values.file, 'utf8') : text!;
  const tokenizer = await loadTokenizer(model);
  const tokens = tokenizer.encode(input, { addBos: values['no-bos'] ? false : undefined, parseSpecial: values.special ?? false });
  if (values.json) {
    console.log(JSON.stringify({ tokens }));
  } else {
    console.log(tokens.map((id) => `${id}\t${JSON.stringify(tokenizer.tokenToPiece(id))}`).join('\n'));
  }
  return 0;
}
