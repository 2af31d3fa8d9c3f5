/** The optimizer of a run (Algorithm 2's scale-amended SGD or the momentum SGD baseline) and its scales. */
import { MomentumSGD, ScaleAmendedSGD } from '@bmp/optimizer';
import type { TrainSettings } from './config';
import { stripModelPrefix, type TrainableModel } from './model';
import type { BlockScaleRecord } from './runlog';

export type RunOptimizer = ScaleAmendedSGD | MomentumSGD;

export function makeOptimizer(
  s: TrainSettings,
  model: TrainableModel,
  onWarning: (text: string) => void,
): RunOptimizer {
  const common = {
    learningRate: s.lr,
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    nesterov: s.nesterov,
    blocks: [...model.blocks],
    onWarning,
  };
  return s.optimizer === 'sgd'
    ? new MomentumSGD(common)
    : new ScaleAmendedSGD({ ...common, positionScaling: s.positionScaling });
}

/** The eq. 24 scalars of the last step per block (scale-amended SGD only), names without the model prefix. */
export async function scalesOf(opt: RunOptimizer, prefix: string): Promise<BlockScaleRecord[] | undefined> {
  if (!(opt instanceof ScaleAmendedSGD)) return undefined;
  const scales = await opt.readLastScales();
  return scales.map(({ name, m, mW, mZ }) => ({ name: stripModelPrefix(name, prefix), m, mW, mZ }));
}
