// fit()'s progress display: a bar redrawn in place on a terminal, one plain line per epoch
// otherwise (logs, CI).
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

function fmtLogs(logs: Record<string, number | undefined>): string {
  return Object.entries(logs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k} ${v!.toFixed(4)}`)
    .join(' - ');
}

export class Progress {
  private started = 0;
  constructor(
    private readonly out: ProgressStream,
    private readonly epochs: number,
    private readonly batches: number,
    /** Said of the batches at each epoch's end, e.g. 'recorded' while a graph is defined. */
    private readonly verb = '',
  ) {}

  epochStart(): void {
    this.started = performance.now();
  }

  batch(epoch: number, batch: number, logs: Record<string, number | undefined>): void {
    if (!this.out.isTTY) return;
    const width = 24;
    const done = Math.round((batch / this.batches) * width);
    const bar = '='.repeat(Math.max(0, done - 1)) + (done > 0 ? (batch === this.batches ? '=' : '>') : '') + '.'.repeat(width - done);
    const line = `Epoch ${epoch}/${this.epochs} [${bar}] ${batch}/${this.batches} - ${fmtLogs(logs)}`;
    this.out.write(`\r${line.slice(0, Math.max(20, (this.out.columns ?? 120) - 1))}\x1b[K`);
  }

  epochEnd(epoch: number, logs: Record<string, number | undefined>): void {
    const secs = ((performance.now() - this.started) / 1000).toFixed(1);
    const line = `Epoch ${epoch}/${this.epochs} - ${this.batches} batches${this.verb ? ` ${this.verb}` : ''} - ${secs}s${Object.keys(logs).length ? ` - ${fmtLogs(logs)}` : ''}`;
    this.out.write(this.out.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
  }
}
