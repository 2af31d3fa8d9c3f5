/**
 * One block of analyze: the spectra of its local Hessians H_z and H_W (paper section 3), the
 * Marchenko-Pastur comparison of a dense block, and eq. (24)'s m_{b,W}, m_{b,z} against trace/dim.
 */
import { type ChainBlock, localHessianOperator } from '@bmp/backmatching';
import { blockDims as hessianBlockDims, scalarsFromSquaredNorm, squaredFrobeniusNorm } from '@bmp/hessian';
import type { BlockAnalysis, Spectrum } from '@bmp/runlog/node';
import { marchenkoPasturSpectrum } from './analyze-marchenko-pastur';
import { type SpectrumSettings, spectrumOf } from './analyze-spectra';
import type { tf } from './tf';

export interface BlockInput {
  name: string;
  block: ChainBlock;
  /** The block's input on the analysed batch. */
  z: tf.Tensor;
  /** The loss on the logits, for the top block (null elsewhere: the back-matching loss). */
  top: ((logits: tf.Tensor) => tf.Scalar) | null;
  positionScaling: boolean;
}

export async function analyzeBlock(
  b: BlockInput,
  o: SpectrumSettings,
): Promise<{ analysis: BlockAnalysis; summary: string }> {
  const { block } = b;
  const m = b.z.shape[0];
  const objective = b.top ? { top: b.top } : undefined;
  const spectrumWrt = (wrt: 'z' | 'W') =>
    spectrumOf(
      wrt === 'z' ? 'Hz' : 'HW',
      localHessianOperator({ block, z: b.z, objective, wrt, form: 'gauss-newton' }),
      o,
    );
  // one after the other: the operators' leak checks count every live tensor
  const z = await spectrumWrt('z');
  const W = await spectrumWrt('W');
  const spectra: Spectrum[] = [z.spectrum, W.spectrum];
  if (block.kind === 'dense' && block.ops[0]?.op === 'dense' && block.weights[0].shape[0] <= o.maxDenseDim)
    spectra.push(await marchenkoPasturSpectrum(block, b.z));
  let eq24: BlockAnalysis['eq24'];
  if (block.descriptor) {
    // blockScalars of @bmp/hessian, with ||W||_F^2 read back asynchronously (WebGPU)
    const norm = squaredFrobeniusNorm(block.descriptor.weight);
    let squaredNorm: number;
    try {
      [squaredNorm] = await norm.data();
    } finally {
      norm.dispose();
    }
    const dims = hessianBlockDims(block.descriptor, { positionScaling: b.positionScaling });
    const sc = scalarsFromSquaredNorm(dims, squaredNorm);
    // Same normalisation as compareWithScalars: trace(H_W)/dim, and m * trace(H_z)/dim (per-sample H_z).
    const exactW = W.trace / W.spectrum.dimension;
    const exactZ = (m * z.trace) / z.spectrum.dimension;
    const estimated = W.traceMethod === 'hutchinson' || z.traceMethod === 'hutchinson';
    eq24 = {
      mW: sc.mW,
      mZ: sc.mZ,
      exactW,
      exactZ,
      traceMethod: estimated ? 'hutchinson' : 'exact',
      traceMethods: { W: W.traceMethod, z: z.traceMethod },
      ...(estimated ? { probes: W.probes ?? z.probes } : {}),
      ratioW: exactW / sc.mW,
      ratioZ: exactZ / sc.mZ,
    };
  }
  const analysis: BlockAnalysis = {
    name: b.name,
    kind: block.kind,
    dims: blockDims(block, m),
    batchNorm: block.batchNorm,
    relu: block.relu,
    maxPool: block.maxPool,
    top: b.top != null,
    hessianForm: 'gauss-newton at zero residual (the training loss at the top)',
    spectra,
    ...(eq24 ? { eq24 } : {}),
  };
  const fmt = (s: Spectrum) => {
    const d = s.eigenvalues.density;
    const slq = d
      ? `; SLQ ${d.probes}x${d.lanczosSteps}${d.exactDistance ? ` KS ${d.exactDistance.ks.toFixed(3)} W1 ${d.exactDistance.wasserstein1Relative?.toExponential(1)}` : ''}`
      : '';
    return (
      `${s.matrix} ${s.dimension} (${s.eigenvalues.method}${s.eigenvalues.matVecs ? `, ${s.eigenvalues.matVecs} products` : ''}${slq}) ` +
      `[${s.eigenvalues.min.toPrecision(3)}, ${s.eigenvalues.max.toPrecision(3)}] C=${s.condition.value.toPrecision(3)}`
    );
  };
  const summary = [
    ...spectra.slice(0, 2).map(fmt),
    ...(eq24 ? [`eq24 ratioW ${eq24.ratioW?.toFixed(3)} ratioZ ${eq24.ratioZ?.toFixed(3)}`] : []),
  ].join('; ');
  return { analysis, summary };
}

function blockDims(block: ChainBlock, m: number): Record<string, number> {
  const w = block.weights[0].shape as number[];
  if (block.kind === 'dense') return { nIn: w[0], nOut: w[1], batch: m };
  if (block.kind === 'conv2d') {
    const [h, wd] = block.inputShape;
    return { kh: w[0], kw: w[1], cIn: w[2], cOut: w[3], hIn: h, wIn: wd, batch: m };
  }
  return { parameters: block.weights.reduce((s, v) => s + v.size, 0), batch: m };
}
