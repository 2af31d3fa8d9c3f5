import { tf, useCpuBackend } from '@bmp/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Conv2DBlock, mlp, residualConvNet, residualMlp } from '../src';

beforeAll(useCpuBackend);

/** S S^T for a square kernel K = S^T ([n, n], row-major); S S^T = K^T K. */
function gram(k: ArrayLike<number>, n: number): number[][] {
  return Array.from({ length: n }, (_, a) =>
    Array.from({ length: n }, (_, b) => {
      let s = 0;
      for (let f = 0; f < n; f++) s += k[f * n + a] * k[f * n + b];
      return s;
    }),
  );
}
function offIdentity(g: number[][]): number {
  let worst = 0;
  for (const [i, row] of g.entries()) {
    for (const [j, v] of row.entries()) worst = Math.max(worst, Math.abs(v - (i === j ? 1 : 0)));
  }
  return worst;
}

describe('residual nets (paper section 3.2)', () => {
  it('residualMlp: shapes, blocks, and the three skip types', () => {
    const width = 8;
    const nets = (['identity', 'orthogonal', 'non-orthogonal'] as const).map((skip) =>
      residualMlp({ inputSize: 5, width, depth: 3, numClasses: 4, skip, seed: 1 }),
    );
    for (const net of nets) {
      const y = tf.tidy(() => net.apply(tf.randomNormal([6, 5]), { training: true }));
      expect(y.shape).toEqual([6, 4]);
      y.dispose();
      // stem + 3 blocks x 2 layers + fc, all dense; residualBlocks list the phi layers and the skip
      expect(net.blocks.map((b) => b.kind)).toEqual(new Array(8).fill('dense'));
      expect(net.blocks[0].weight.name).toBe(`${net.name}/stem/kernel`);
      expect(net.residualBlocks).toHaveLength(3);
      expect(net.residualBlocks[1].layers.map((b) => b.weight.name)).toEqual([
        `${net.name}/res2_dense1/kernel`,
        `${net.name}/res2_dense2/kernel`,
      ]);
      expect(net.parameterCount).toBe(5 * width + 6 * width * width + width * 4);
    }
    const [identity, orthogonal, nonOrthogonal] = nets;
    expect(
      identity.residualBlocks.every(
        (r) => r.kind === 'residual' && r.skip === 'identity' && r.skipWeight == null,
      ),
    ).toBe(true);
    for (const r of orthogonal.residualBlocks) {
      expect(r.skipWeight!.trainable).toBe(false);
      expect(r.skipWeight!.shape).toEqual([width, width]);
      expect(offIdentity(gram(r.skipWeight!.dataSync(), width))).toBeLessThan(5e-6);
    }
    for (const r of nonOrthogonal.residualBlocks) {
      expect(r.skip).toBe('non-orthogonal');
      expect(offIdentity(gram(r.skipWeight!.dataSync(), width))).toBeGreaterThan(0.1);
    }
    // different blocks get different skip matrices
    expect(Array.from(orthogonal.residualBlocks[0].skipWeight!.dataSync())).not.toEqual(
      Array.from(orthogonal.residualBlocks[1].skipWeight!.dataSync()),
    );
    // skip matrices are not trainable and not blocks
    expect(orthogonal.trainableVariables).toHaveLength(8);
    for (const n of nets) n.dispose();
  });

  it('the skip is what the forward pass adds: z_b = S z_{b-1} + phi_b(z_{b-1})', () => {
    const net = residualMlp({
      inputSize: 3,
      width: 4,
      depth: 1,
      numClasses: 2,
      skip: 'non-orthogonal',
      batchNorm: false,
      seed: 2,
    });
    const x = tf.randomNormal([3, 3], 0, 1, 'float32', 1);
    const acts = net.activations(x, ['stem_relu', 'res1_relu2', 'res1_add']);
    const expected = tf.add(tf.matMul(acts.stem_relu, net.residualBlocks[0].skipWeight!), acts.res1_relu2);
    const diff = tf.max(tf.abs(tf.sub(expected, acts.res1_add))).dataSync()[0];
    expect(diff).toBeLessThan(1e-6);
    tf.dispose([x, expected, ...Object.values(acts)]);
    net.dispose();
  });

  it('residualConvNet: shapes, conv blocks at constant resolution, 1x1 conv skips', () => {
    const net = residualConvNet({
      inputShape: [6, 6, 2],
      channels: 4,
      depth: 2,
      numClasses: 3,
      skip: 'orthogonal',
      layersPerBlock: 1,
    });
    const y = tf.tidy(() => net.apply(tf.randomNormal([2, 6, 6, 2]), { training: true }));
    expect(y.shape).toEqual([2, 3]);
    y.dispose();
    expect(net.blocks.map((b) => b.kind)).toEqual(['conv2d', 'conv2d', 'conv2d', 'dense']);
    for (const b of net.blocks.slice(0, 3) as Conv2DBlock[]) {
      expect([b.inputPositions, b.outputPositions, b.strides, b.padding]).toEqual([36, 36, 1, 'same']);
    }
    const s = net.residualBlocks[0].skipWeight!;
    expect(s.shape).toEqual([1, 1, 4, 4]);
    expect(offIdentity(gram(s.dataSync(), 4))).toBeLessThan(5e-6);
    expect(net.parameterCount).toBe(9 * 2 * 4 + 2 * 9 * 4 * 4 + 4 * 3);
    net.dispose();
  });

  it('mlp: shapes with and without BN; flattens image inputs', () => {
    const a = mlp({ sizes: [12, 7, 5, 3], batchNorm: true });
    const b = mlp({ sizes: [12, 3], inputShape: [2, 2, 3] });
    expect(a.blocks.map((blk) => blk.weight.shape)).toEqual([
      [12, 7],
      [7, 5],
      [5, 3],
    ]);
    expect(a.variables.filter((v) => !v.trainable).map((v) => v.name)).toEqual([
      'mlp/bn1/running_mean',
      'mlp/bn1/running_var',
      'mlp/bn2/running_mean',
      'mlp/bn2/running_var',
    ]);
    const ya = tf.tidy(() => a.apply(tf.ones([2, 12]), { training: true }));
    const yb = tf.tidy(() => b.apply(tf.ones([2, 2, 2, 3])));
    expect(ya.shape).toEqual([2, 3]);
    expect(yb.shape).toEqual([2, 3]);
    tf.dispose([ya, yb]);
    expect(() => mlp({ sizes: [12, 3], inputShape: [5] })).toThrow(/inputShape/);
    expect(() =>
      residualMlp({ inputSize: 3, width: 4, depth: 1, numClasses: 2, skip: 'diagonal' as never }),
    ).toThrow(/skip must be/);
    a.dispose();
    b.dispose();
  });
});
