// Unicode helpers of the tokenizers: UTF-8 bytes, GPT-2's byte-to-character mapping, and the
// whitespace class that llama.cpp's pre-tokenizers use.

const encoder = new TextEncoder();

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * GPT-2's reversible byte-to-character table: printable Latin-1 bytes stand for themselves and
 * the others take the code points from U+0100 on, so every byte string becomes printable text
 * without spaces (a space becomes 'Ġ', U+0120).
 */
function buildByteTables(): { byteToChar: string[]; charToByte: Map<number, number> } {
  const byteToChar = new Array<string>(256);
  const charToByte = new Map<number, number>();
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const cp = printable(b) ? b : next++;
    byteToChar[b] = String.fromCharCode(cp);
    charToByte.set(cp, b);
  }
  return { byteToChar, charToByte };
}

const { byteToChar: BYTE_TO_CHAR, charToByte } = buildByteTables();

/** GPT-2 character code point → the byte it stands for. */
export const CHAR_TO_BYTE: ReadonlyMap<number, number> = charToByte;

/** Maps each UTF-8 byte of `text` to its GPT-2 character. */
export function byteEncode(text: string): string {
  let out = '';
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    for (let i = 0; i < text.length; i++) out += BYTE_TO_CHAR[text.charCodeAt(i)]!;
    return out;
  }
  for (const b of utf8Bytes(text)) out += BYTE_TO_CHAR[b]!;
  return out;
}

/**
 * The whitespace of llama.cpp's pre-tokenizers, as a regex class body. It differs from
 * JavaScript's \s: U+0085 (NEXT LINE) is whitespace, U+FEFF (BOM) is not.
 */
export const WS = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

/** C isspace() on a UTF-16 unit: what llama.cpp strips around special tokens with lstrip/rstrip. */
export function isCSpace(code: number): boolean {
  return code === 0x20 || (code >= 0x09 && code <= 0x0d);
}
