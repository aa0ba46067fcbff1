// The pairwise merge loop shared by the SentencePiece and BPE encoders: a chain of symbols over
// a word and a priority queue of candidate pairs, lowest priority value first and, among equals,
// the leftmost pair (llama.cpp's order).

export class MergeQueue {
  private priority: number[] = [];
  private left: number[] = [];
  private right: number[] = [];
  private size: number[] = [];
  private count = 0;

  get length(): number {
    return this.count;
  }

  clear(): void {
    this.count = 0;
  }

  push(priority: number, left: number, right: number, size: number): void {
    let i = this.count++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(priority, left, this.priority[parent]!, this.left[parent]!)) break;
      this.set(i, this.priority[parent]!, this.left[parent]!, this.right[parent]!, this.size[parent]!);
      i = parent;
    }
    this.set(i, priority, left, right, size);
  }

  /** Removes the first entry; its fields are then in `top`. */
  pop(top: { left: number; right: number; size: number }): void {
    top.left = this.left[0]!;
    top.right = this.right[0]!;
    top.size = this.size[0]!;
    const last = --this.count;
    if (last === 0) return;
    const p = this.priority[last]!;
    const l = this.left[last]!;
    const r = this.right[last]!;
    const s = this.size[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      if (child + 1 < last && before(this.priority[child + 1]!, this.left[child + 1]!, this.priority[child]!, this.left[child]!)) {
        child++;
      }
      if (!before(this.priority[child]!, this.left[child]!, p, l)) break;
      this.set(i, this.priority[child]!, this.left[child]!, this.right[child]!, this.size[child]!);
      i = child;
    }
    this.set(i, p, l, r, s);
  }

  private set(i: number, priority: number, left: number, right: number, size: number): void {
    this.priority[i] = priority;
    this.left[i] = left;
    this.right[i] = right;
    this.size[i] = size;
  }
}

function before(priorityA: number, leftA: number, priorityB: number, leftB: number): boolean {
  return priorityA < priorityB || (priorityA === priorityB && leftA < leftB);
}

/** A word's symbols: UTF-16 start and length (0 once merged into the left neighbour), links. */
export class SymbolChain {
  start = new Int32Array(64);
  len = new Int32Array(64);
  prev = new Int32Array(64);
  next = new Int32Array(64);
  count = 0;

  /** Starts over with one symbol per code point of `text` (scratch arrays are reused). */
  reset(text: string): void {
    const n = text.length;
    if (this.start.length < n) {
      const size = Math.max(n, this.start.length * 2);
      this.start = new Int32Array(size);
      this.len = new Int32Array(size);
      this.prev = new Int32Array(size);
      this.next = new Int32Array(size);
    }
    let count = 0;
    for (let i = 0; i < n; ) {
      const c = text.charCodeAt(i);
      const w = c >= 0xd800 && c < 0xdc00 && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      this.start[count] = i;
      this.len[count] = w;
      this.prev[count] = count - 1;
      i += w;
      this.next[count] = i === n ? -1 : count + 1;
      count++;
    }
    this.count = count;
  }
}

/**
 * Merges pairs until none is left. `tryPair(left, right)` queues a pair when it may merge; a
 * popped pair is stale (skipped) when either side merged elsewhere or grew since it was queued.
 */
export function runMerges(symbols: SymbolChain, queue: MergeQueue, tryPair: (left: number, right: number) => void): void {
  const { len, prev, next } = symbols;
  for (let i = 1; i < symbols.count; i++) tryPair(i - 1, i);
  const top = { left: 0, right: 0, size: 0 };
  while (queue.length > 0) {
    queue.pop(top);
    const { left, right, size } = top;
    if (len[left] === 0 || len[right] === 0 || len[left]! + len[right]! !== size) continue;
    len[left] = size;
    len[right] = 0;
    next[left] = next[right]!;
    if (next[right]! >= 0) prev[next[right]!] = left;
    tryPair(prev[left]!, left);
    tryPair(left, next[left]!);
  }
}
