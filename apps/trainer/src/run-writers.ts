/** The files a run appends to while it trains: metrics.jsonl (validated records) and TensorBoard events. */
import { join } from 'node:path';
import {
  type EpochRecord,
  type EventInput,
  METRICS_SCHEMA_VERSION,
  MetricsWriter,
  type StepRecord,
  TensorBoardWriter,
} from './runlog';

interface StepFields {
  epoch: number;
  step: number;
  loss: number;
  lr: number;
  scales: StepRecord['scales'];
}

export class RunWriters {
  readonly metricsFile: string;
  private readonly metrics: MetricsWriter;
  private readonly tb: TensorBoardWriter;

  /** `kept`: event records cut by a rewind on resume (see metrics-rewind.ts), appended again first. */
  constructor(
    runDir: string,
    private readonly runName: string,
    kept: EventInput[] = [],
  ) {
    this.metricsFile = join(runDir, 'metrics.jsonl');
    this.metrics = new MetricsWriter(this.metricsFile);
    for (const e of kept) this.metrics.append(e);
    this.tb = new TensorBoardWriter(runDir);
  }

  event(e: Omit<EventInput, 'type' | 'wallTime' | 'run'>): void {
    this.metrics.append({
      type: 'event',
      wallTime: Date.now() / 1000,
      run: this.runName,
      ...e,
    } as EventInput);
  }

  step({ epoch, step, loss, lr, scales }: StepFields): void {
    const rec: StepRecord = {
      type: 'step',
      v: METRICS_SCHEMA_VERSION,
      run: this.runName,
      epoch,
      step,
      wallTime: Date.now() / 1000,
      loss,
      lr,
      scales,
    };
    this.metrics.append(rec);
    this.tb.step(rec);
  }

  epoch(rec: EpochRecord): void {
    this.metrics.append(rec);
    this.tb.epoch(rec);
  }

  /** Flushes metrics.jsonl to disk and returns its length (what a checkpoint records). */
  flush(): number {
    this.metrics.flush();
    return this.metrics.size;
  }

  close(): void {
    this.metrics.close();
    this.tb.close();
  }
}
