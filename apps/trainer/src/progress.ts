/** Progress output: bars on a terminal, plain lines otherwise, JSON lines with --json. */
import cliProgress from 'cli-progress';
import type { EpochRecord } from './runlog';

export type ProgressEvent =
  | {
      type: 'start';
      run: string;
      runDir: string;
      optimizer: string;
      lr: number;
      seed: number;
      epochs: number;
      startEpoch: number;
      numBatches: number | null;
      backend: string;
      /** What the backend computes on, where its name does not say (a GPU, a software adapter). */
      device?: string;
      resumed: boolean;
    }
  | {
      type: 'step';
      run: string;
      epoch: number;
      epochs: number;
      batch: number;
      numBatches: number | null;
      loss: number;
      imagesPerSecond: number;
    }
  | { type: 'epoch'; run: string; epochs: number; record: EpochRecord }
  | {
      type: 'end';
      run: string;
      status: 'completed' | 'interrupted' | 'diverged';
      runDir: string;
      message?: string;
    }
  | { type: 'message'; run?: string; level: 'info' | 'warn' | 'error'; text: string };

export interface Reporter {
  event(e: ProgressEvent): void;
  close(): void;
}

export type ReporterMode = 'tty' | 'plain' | 'json' | 'silent';

export function defaultMode(json: boolean): ReporterMode {
  if (json) return 'json';
  return process.stderr.isTTY ? 'tty' : 'plain';
}

const pct = (x: number | undefined) => (x === undefined ? 'n/a' : `${(100 * x).toFixed(2)}%`);

export function epochLine(run: string, epochs: number, r: EpochRecord): string {
  const parts = [
    `[${run}] epoch ${r.epoch + 1}/${epochs}`,
    `train loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAccuracy)}`,
  ];
  if (r.valAccuracy !== undefined) parts.push(`val acc ${pct(r.valAccuracy)}`);
  if (r.testError !== undefined) parts.push(`test loss ${r.testLoss!.toFixed(4)} error ${pct(r.testError)}`);
  parts.push(
    `lr ${Number(r.lr.toPrecision(6))}`,
    `${r.imagesPerSecond.toFixed(0)} img/s`,
    `${(r.epochSeconds ?? 0).toFixed(1)} s`,
  );
  return parts.join('  ');
}

function messageLine(e: Extract<ProgressEvent, { type: 'message' }>): string {
  const prefix = e.level === 'info' ? '' : `${e.level}: `;
  return `${e.run ? `[${e.run}] ` : ''}${prefix}${e.text}`;
}

class JsonReporter implements Reporter {
  event(e: ProgressEvent): void {
    process.stdout.write(`${JSON.stringify(e)}\n`);
  }
  close(): void {}
}

class PlainReporter implements Reporter {
  private lastQuarter = new Map<string, number>();
  constructor(private readonly write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)) {}
  event(e: ProgressEvent): void {
    switch (e.type) {
      case 'start':
        this.write(
          `[${e.run}] ${e.resumed ? 'resuming at' : 'starting'} epoch ${e.startEpoch + 1}/${e.epochs}: ${e.optimizer}, lr ${e.lr}, seed ${e.seed}, backend ${e.backend}${e.device ? ` on ${e.device}` : ''}, logs in ${e.runDir}`,
        );
        break;
      case 'step': {
        if (e.numBatches == null) break;
        const q = Math.floor((4 * (e.batch + 1)) / e.numBatches);
        const key = `${e.run}:${e.epoch}`;
        if (q > 0 && q < 4 && q !== this.lastQuarter.get(key)) {
          this.lastQuarter.set(key, q);
          this.write(
            `[${e.run}] epoch ${e.epoch + 1}/${e.epochs} ${25 * q}%  batch ${e.batch + 1}/${e.numBatches}  loss ${e.loss.toFixed(4)}  ${e.imagesPerSecond.toFixed(0)} img/s`,
          );
        }
        break;
      }
      case 'epoch':
        this.write(epochLine(e.run, e.epochs, e.record));
        break;
      case 'end':
        this.write(`[${e.run}] ${e.status}${e.message ? `: ${e.message}` : ''}`);
        break;
      case 'message':
        this.write(messageLine(e));
        break;
    }
  }
  close(): void {}
}

class TtyReporter implements Reporter {
  private readonly multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: '{run} | epoch {epoch} |{bar}| {percentage}% | {ips} img/s | loss {loss} | ETA {eta_formatted}',
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 20,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  private bars = new Map<string, { bar: cliProgress.SingleBar; epoch: number }>();
  event(e: ProgressEvent): void {
    switch (e.type) {
      case 'step': {
        let entry = this.bars.get(e.run);
        const total = e.numBatches ?? e.batch + 1;
        const payload = {
          run: e.run,
          epoch: `${e.epoch + 1}/${e.epochs}`,
          ips: e.imagesPerSecond.toFixed(0),
          loss: e.loss.toFixed(4),
        };
        if (entry == null || entry.epoch !== e.epoch) {
          if (entry) this.multi.remove(entry.bar);
          entry = { bar: this.multi.create(total, e.batch, payload), epoch: e.epoch };
          this.bars.set(e.run, entry);
        }
        entry.bar.setTotal(total);
        entry.bar.update(e.batch + 1, payload);
        break;
      }
      case 'epoch':
        this.multi.log(`${epochLine(e.run, e.epochs, e.record)}\n`);
        break;
      case 'start':
        this.multi.log(
          `[${e.run}] ${e.resumed ? 'resuming at' : 'starting'} epoch ${e.startEpoch + 1}/${e.epochs}: ${e.optimizer}, lr ${e.lr}, seed ${e.seed}, backend ${e.backend}${e.device ? ` on ${e.device}` : ''}\n`,
        );
        break;
      case 'end': {
        const entry = this.bars.get(e.run);
        if (entry) {
          this.multi.remove(entry.bar);
          this.bars.delete(e.run);
        }
        this.multi.log(`[${e.run}] ${e.status}${e.message ? `: ${e.message}` : ''}\n`);
        break;
      }
      case 'message':
        this.multi.log(`${messageLine(e)}\n`);
        break;
    }
  }
  close(): void {
    this.multi.stop();
  }
}

export function createReporter(mode: ReporterMode): Reporter {
  switch (mode) {
    case 'json':
      return new JsonReporter();
    case 'tty':
      return new TtyReporter();
    case 'plain':
      return new PlainReporter();
    case 'silent':
      return { event() {}, close() {} };
  }
}

/** Reporter that calls a user callback (library API). */
export function callbackReporter(fn?: (e: ProgressEvent) => void): Reporter {
  return { event: (e) => fn?.(e), close() {} };
}
