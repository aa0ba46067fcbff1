// The CLI progress display: a redrawn bar on a terminal, a line per 10% step otherwise.
import { describe, expect, it } from 'vitest';

import { createProgress } from '../../lib/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

describe('CLI progress', () => {
  it('prints one plain line per 10% step when stderr is not a terminal', () => {
    const { writes, stream } = fakeStream(false);
    const p = createProgress('converting', stream);
    for (let done = 0; done <= 1000; done += 7) p.update(done, 1000, 'x');
    p.update(1000, 1000, 'x');
    p.finish();
    expect(writes).toHaveLength(11);
    expect(writes[0]).toBe('converting 0% x\n');
    expect(writes.at(-1)).toBe('converting 100% x\n');
  });

  it('redraws one bar at most every 100 ms on a terminal, always drawing completion, and ends the line', () => {
    const { writes, stream } = fakeStream(true);
    let now = 0;
    const p = createProgress('converting', stream, () => now);
    p.update(0, 4);
    p.update(1, 4); // within 100 ms: skipped
    now = 150;
    p.update(2, 4);
    p.update(4, 4); // completion is always drawn
    p.finish();
    expect(writes).toHaveLength(4);
    expect(writes[1]).toMatch(/^\rconverting \[#{15}\.{15}\]  50% /);
    expect(writes[2]).toMatch(/\[#{30}\] 100%/);
    expect(writes[3]).toBe('\n');
  });
});
