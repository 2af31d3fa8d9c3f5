export { type AnalyzeOptions, type AnalyzeProgress, analyze } from './analyze';
export { type CompareOptions, type CompareResult, compare, formatTable, type SummaryRow } from './compare';
export {
  DEFAULTS,
  MAIN_JOB_LR,
  PRESETS,
  type Preset,
  resolveSettings,
  type TrainSettings,
  UsageError,
} from './config';
export { type BatchSource, imageDatasetSource, iteratorSource, loadData, tensorSource } from './data';
export { setupBackend } from './environment';
export { loadImageFolder } from './folder-dataset';
export { asTrainable, buildModel, fromLayersModel, type TrainableModel, weightsHash } from './model';
export type { ProgressEvent, Reporter } from './progress';
export { evaluate, type RunResult } from './run';
export { type EpochRecord, type MetricsRecord, readJsonl, type StepRecord } from './runlog';
export { cancelSweep, resumeSweep, runSweep, type SweepOptions, sweepStatus } from './sweep';
export { parseSweepSpec, readSweepFile, type SweepSpec } from './sweep-file';
export { expandGrid, planSweep, type SweepPlan, type SweepRun } from './sweep-plan';
export { type DataInput, type ModelInput, type TrainOptions, train, type UserData } from './train';
