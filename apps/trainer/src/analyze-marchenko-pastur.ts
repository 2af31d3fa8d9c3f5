/**
 * The Marchenko-Pastur comparison of a dense block for analyze (eq. 10-11; eq. 19 with BN), on the
 * per-sample H_z of its weight layer (the block cut after its BN, ReLU dropped: the matrix the law
 * describes), in float64 from @bmp/backmatching's closed forms:
 *   no BN: H = K K^T (eq. 8), sigma2 = n_b * mean(K_ij^2) = tr(H) / n_{b-1} ('weights');
 *   BN:    H = sum_i w_i w_i^T / (Var_i + eps) (eq. 17), sigma2 = c (eq. 19, 'bn').
 */
import { type ChainBlock, denseBnHzPerSample, denseHzPerSample } from '@bmp/backmatching';
import type { Spectrum } from '@bmp/runlog/node';
import { ksDistance, marchenkoPastur, marchenkoPasturForBatchNorm } from '@bmp/spectra';
import { denseSpectrum } from './analyze-spectra';
import { tf } from './tf';

export async function marchenkoPasturSpectrum(block: ChainBlock, z: tf.Tensor): Promise<Spectrum> {
  const kernel = await block.weights[0].data();
  const [nIn, nOut] = block.weights[0].shape as [number, number];
  let H: Float64Array;
  if (block.batchNorm) {
    const bn = block.ops.find((o) => o.op === 'batchNorm') as { epsilon?: number } | undefined;
    const m = z.shape[0];
    const zz = tf.reshape(z, [m, nIn]);
    let batch: tf.TypedArray;
    try {
      batch = await zz.data();
    } finally {
      zz.dispose();
    }
    H = denseBnHzPerSample(kernel, batch, m, nIn, nOut, bn?.epsilon ?? 0).data;
  } else H = denseHzPerSample(kernel, nIn, nOut).data;
  const d = denseSpectrum(block.batchNorm ? 'Hz-weight-layer-eq17' : 'Hz-weight-layer-eq8', nIn, H, false);
  const c = nOut / nIn;
  const law = block.batchNorm
    ? marchenkoPasturForBatchNorm({ nOut, nIn })
    : marchenkoPastur({ c, sigma2: d.trace / nIn });
  const top = Math.max(Math.abs(d.eigenvalues[0]), Math.abs(d.eigenvalues[nIn - 1]));
  const ks = ksDistance(d.eigenvalues, law, { zeroTolerance: nIn * 1e-12 * top });
  // With BN the law has no free scale; the mean-matched fit shows how much of the KS distance is scale.
  const meanMatched = d.trace / nIn;
  return {
    ...d.spectrum,
    marchenkoPastur: {
      c,
      sigma2: block.batchNorm ? c : meanMatched,
      sigma2Method: block.batchNorm
        ? 'bn: eq. 19, sigma2 = c = n_b / n_{b-1} (BN removes the weight scale)'
        : 'weights: sigma2 = n_b * mean of the squared kernel entries = trace(K K^T) / n_{b-1} (eq. 10 convention: entries of variance sigma2 / n_b)',
      lower: law.lower,
      upper: law.upper,
      atomAtZero: law.atomAtZero,
      ksDistance: ks.distance,
      ...(block.batchNorm
        ? {
            meanMatched: {
              sigma2: meanMatched,
              ksDistance: ksDistance(d.eigenvalues, marchenkoPastur({ c, sigma2: meanMatched })).distance,
            },
          }
        : {}),
    },
    perSample: true,
    note: 'per-sample H_z of the weight layer (block cut after its BN; ReLU and pooling dropped), float64 closed form',
  };
}
