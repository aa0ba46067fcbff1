// qinfer inspect <file|folder> [--json]: what a GGUF, safetensors file or Hugging Face folder holds.
import { parseArgs } from 'node:util';

import { InvalidArgumentError } from '../../errors.js';
import { type JsonValue, type ModelReport, inspectModel } from '../../inspect.js';

const FORMAT_NAMES = { gguf: 'GGUF', safetensors: 'safetensors', huggingface: 'Hugging Face folder' } as const;

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]}`;
}

const count = (n: number) => n.toLocaleString('en-US');

function show(v: JsonValue): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 120 ? `${v.slice(0, 117)}...` : v);
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'length' in v && 'first' in v)
    return `[${(v.first as JsonValue[]).map(show).join(', ')}, ...] (${String(v.type)}, ${count(v.length as number)} items)`;
  return JSON.stringify(v);
}

function table(rows: string[][], rightAligned: number[] = []): string[] {
  if (rows.length === 0) return [];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => '  ' + r.map((cell, c) => (rightAligned.includes(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

export function formatReport(r: ModelReport): string {
  const lines: string[] = [];
  const version = r.version ? ` v${r.version}` : '';
  lines.push(`File          ${r.path} (${FORMAT_NAMES[r.format]}${version}, ${formatBytes(r.fileSize)})`);
  lines.push(`Architecture  ${r.architecture ?? '(not recorded)'}`);
  const hp = Object.entries(r.hyperparameters);
  if (hp.length) {
    lines.push('Hyperparameters');
    lines.push(...table(hp.map(([k, v]) => [k, show(v)])));
  }
  if (r.tokenizer) {
    const t = r.tokenizer;
    const special = (name: string, s?: { id?: number; text?: string }) =>
      s ? `${name} ${s.id ?? '?'}${s.text !== undefined ? ` ${JSON.stringify(s.text)}` : ''}` : undefined;
    const parts = [t.error && `unreadable: ${t.error}`, t.model, t.pre && `pre ${t.pre}`, t.vocabSize !== undefined && `${count(t.vocabSize)} tokens`, special('BOS', t.bos), special('EOS', t.eos), t.chatTemplate && 'chat template'];
    lines.push(`Tokenizer     ${parts.filter(Boolean).join(', ')}`);
  } else {
    lines.push('Tokenizer     (none)');
  }
  const otherKeys = Object.entries(r.metadata).filter(([k]) => r.format !== 'huggingface' && !(r.architecture && k.startsWith(`${r.architecture}.`)));
  if (otherKeys.length) {
    lines.push('Metadata');
    lines.push(...table(otherKeys.map(([k, v]) => [k, show(v)])));
  }
  lines.push(`Tensors       ${count(r.tensors.length)}, ${count(r.parameters)} parameters, ${formatBytes(r.tensorBytes)}, ${r.bitsPerWeight.toFixed(2)} bits per weight`);
  lines.push(...table(Object.entries(r.types).map(([type, s]) => [type, `${count(s.tensors)} tensors`, `${count(s.parameters)} parameters`, formatBytes(s.bytes)]), [1, 2, 3]));
  if (r.tensors.length) {
    const shapeNote = r.format === 'gguf' ? 'shape (ne0 first)' : 'shape';
    const header = ['name', 'type', shapeNote, 'bytes', ...(r.format === 'huggingface' ? ['file'] : [])];
    const rows = r.tensors.map((t) => [t.name, t.type, t.shape.join(' x ') || '(scalar)', formatBytes(t.bytes), ...(t.file ? [t.file] : [])]);
    lines.push('');
    lines.push(...table([header, ...rows], [3]));
  }
  return lines.join('\n');
}

export default async function inspectCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(
      'qinfer inspect <model.gguf | model.safetensors | hf-folder> [--json]\n\n' +
        'Shows the format, architecture, hyperparameters, tokenizer, metadata and tensor table (name, type,\n' +
        'shape, bytes) with totals and bits per weight. --json prints one JSON object instead.',
    );
    return 0;
  }
  if (positionals.length !== 1) throw new InvalidArgumentError('qinfer inspect takes exactly one file or folder (see --help)');
  const report = await inspectModel(positionals[0]!);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return 0;
}
