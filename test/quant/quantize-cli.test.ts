// qinfer quantize on the command line: --json fields, fallbacks logged on stderr, typed exit codes for bad input.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'main.js');
const tiny = join(root, 'test', 'fixtures', 'models', 'tiny-llama.gguf');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'qinfer-quantize-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (...args: string[]) => spawnSync(process.execPath, [cli, 'quantize', ...args], { encoding: 'utf8' });

it.skipIf(!existsSync(cli))('prints the JSON result and logs fallbacks with their reason', () => {
  const out = join(dir, 'q.gguf');
  const r = run(tiny, '-o', out, '--format', 'q4_0', '--tensor-type', 'attn_v=q8_0', '--json');
  expect(r.status, r.stderr).toBe(0);
  const j = JSON.parse(r.stdout);
  for (const key of ['output', 'bytes', 'bitsPerWeight', 'seconds', 'peakRssBytes', 'tensors']) expect(j).toHaveProperty(key);
  expect(j.output).toBe(out);
  expect(j.tensors.find((t: { name: string }) => t.name === 'blk.0.attn_v.weight').type).toBe('q8_0');
  expect(r.stderr).toMatch(/blk\.0\.ffn_down\.weight: 48 columns do not fit q4_0's blocks of 32: fell back to f16/);
});

it.skipIf(!existsSync(cli))('exits 2 with a JSON error for a bad method and writes nothing', () => {
  const out = join(dir, 'bad.gguf');
  const r = run(tiny, '-o', out, '--format', 'q4_0', '--method', 'nope', '--json');
  expect(r.status).toBe(2);
  expect(JSON.parse(r.stdout).error.code).toBe('E_INVALID_ARGUMENT');
  expect(existsSync(out)).toBe(false);
});
