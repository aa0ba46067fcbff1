// The priority queue of candidate merges shared by the SentencePiece and BPE encoders: pops the
// lowest priority value first and, among equals, the leftmost pair (llama.cpp's order).

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
