// Progress on stderr for long CLI commands: a redrawn bar on a terminal, a plain line every 10% otherwise.
export interface Progress {
  update(done: number, total: number, detail?: string): void;
  /** Ends the bar (newline on a terminal); call once. */
  finish(): void;
}

const WIDTH = 30;
const REDRAW_MS = 100;

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): Progress {
  const tty = stream.isTTY === true;
  let lastDraw = -Infinity;
  let lastStep = -1;
  let drawn = false;
  return {
    update(done, total, detail = '') {
      const fraction = total > 0 ? Math.min(done / total, 1) : 1;
      const percent = Math.floor(fraction * 100);
      if (tty) {
        if (now() - lastDraw < REDRAW_MS && fraction < 1) return;
        lastDraw = now();
        const filled = Math.round(fraction * WIDTH);
        stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${String(percent).padStart(3)}% ${detail}\x1b[K`);
        drawn = true;
      } else {
        const step = Math.floor(percent / 10);
        if (step === lastStep) return;
        lastStep = step;
        stream.write(`${label} ${percent}%${detail ? ` ${detail}` : ''}\n`);
      }
    },
    finish() {
      if (tty && drawn) stream.write('\n');
    },
  };
}
