// qinfer tokenize: ids as the API gives them, exact file contents, --json shape, errors and exit codes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { loadTokenizer } from '../../lib/tokenizer/gguf.js';
import { withVocabFile } from './vocab-fixtures.js';

const tmp = mkdtempSync(join(tmpdir(), 'qinfer-tokenize-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function qinfer(...args: string[]) {
  const r = spawnSync(process.execPath, ['dist/cli/main.js', 'tokenize', ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('qinfer tokenize', () => {
  it('prints the ids of a text or of a file, as the API does', () =>
    withVocabFile('llama-spm', async (vocab) => {
      const tok = await loadTokenizer(vocab);
      const text = 'Hello world';
      const json = qinfer(vocab, '--json', text);
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ tokens: tok.encode(text) });
      expect(JSON.parse(qinfer(vocab, '--json', '--no-bos', text).stdout).tokens).toEqual(tok.encode(text, { addBos: false }));

      // A file's exact content: a leading '-', surrounding whitespace, a special token's text.
      const content = '-v \t</s>\n\n  ';
      const file = join(tmp, 'input.txt');
      writeFileSync(file, content);
      expect(JSON.parse(qinfer(vocab, '--json', '--file', file).stdout).tokens).toEqual(tok.encode(content));
      expect(JSON.parse(qinfer(vocab, '--json', '--special', '--file', file).stdout).tokens).toEqual(
        tok.encode(content, { parseSpecial: true }),
      );

      const lines = qinfer(vocab, text).stdout.trim().split('\n');
      expect(lines).toEqual(tok.encode(text).map((id) => `${id}\t${JSON.stringify(tok.tokenToPiece(id))}`));
    }));

  it('reports bad arguments and files with the CLI exit codes', () => {
    const noText = qinfer('test/fixtures/gguf/tiny.gguf', '--json');
    expect(noText.code).toBe(2);
    expect(JSON.parse(noText.stdout).error.code).toBe('E_INVALID_ARGUMENT');
    const noTokenizer = qinfer('test/fixtures/gguf/tiny.gguf', 'hi');
    expect(noTokenizer.code).toBe(3);
    expect(noTokenizer.stderr).toMatch(/has no tokenizer/);
    expect(qinfer(join(tmp, 'missing.gguf'), 'hi').code).toBe(7);
  });
});
