// qinfer demo, reduced to one format and few tokens: the packaged model quantizes, measures and writes an entry.
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { DEMO_MODEL } from '../../lib/demo.js';

function demo(...args: string[]) {
  return spawnSync(process.execPath, ['dist/cli/main.js', 'demo', ...args], { encoding: 'utf8', env: { ...process.env, QINFER_BACKEND: 'cpu' } });
}

describe('qinfer demo', () => {
  it('ships the gcide-llama-25m Q8_0 model (about 27 MB)', () => {
    expect(statSync(DEMO_MODEL).size).toBeGreaterThan(25e6);
    expect(statSync(DEMO_MODEL).size).toBeLessThan(29e6);
  });

  it('quantizes to q4_0, compares with the Q8_0 and writes an entry (--json)', () => {
    const r = demo('--formats', 'q4_0', '--eval-tokens', '256', '-n', '8', '--threads', '2', '--json');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.backend).toBe('cpu');
    expect(out.rows.map((row: { format: string }) => row.format)).toEqual(['q8_0', 'q4_0']);
    const [q8, q4] = out.rows;
    expect(q4.bytes).toBeLessThan(q8.bytes);
    expect(q4.bitsPerWeight).toBeLessThan(q8.bitsPerWeight);
    // The fixture model's perplexity on held-out GCIDE text is about 14.7; q4_0 loses a little against the Q8_0.
    expect(q8.perplexity).toBeGreaterThan(5);
    expect(q8.perplexity).toBeLessThan(30);
    expect(q4.kld.mean).toBeGreaterThan(0);
    expect(q4.kld.mean).toBeLessThan(0.5);
    expect(q4.top1).toBeGreaterThan(0.5);
    for (const row of out.rows) expect(row.generationTokensPerSecond).toBeGreaterThan(0);
    expect(out.entry.prompt).toBe('Quantum \\Quan"tum\\, n.');
    expect(out.entry.text.length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/demo .*100%/);
  }, 120_000);

  it('prints a table and the entry without --json', () => {
    const r = demo('--formats', 'q5_0', '--eval-tokens', '256', '-n', '4', '-p', 'Library \\Li"bra*ry\\, n.');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/q8_0 \(original\)/);
    expect(r.stdout).toMatch(/\nq5_0 +\d/);
    expect(r.stdout).toContain('Library \\Li"bra*ry\\, n.');
  }, 120_000);

  it('refuses an unknown format with a typed error', () => {
    const r = demo('--formats', 'q3_z', '--eval-tokens', '256', '--json');
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('E_INVALID_ARGUMENT');
  }, 60_000);
});
