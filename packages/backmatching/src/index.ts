export { hvp, jvp, type MultiFn, vjp } from './backmatching/autodiff';
export {
  applyBlock,
  applyOps,
  type ChainBlock,
  type ChainBlockKind,
  type ChainBlockSpec,
  type ChainOp,
  chainBlock,
  opsOutputShape,
  truncateAfterNormalisation,
} from './backmatching/chain';
export { jacobian, leastSquaresStep } from './backmatching/jacobian';
export {
  backMatchingLoss,
  blockLoss,
  forwardChain,
  quadraticPenalty,
  type TopLoss,
} from './backmatching/losses';
export { type BlockChain, blockChain, type NetworkLike } from './backmatching/network-chain';
export {
  conv2d,
  halfMeanSquaredError,
  logSoftmax,
  maxPool2x2,
  softmaxCrossEntropy,
} from './backmatching/ops';
export {
  type BackMatchingOptions,
  type BackMatchingResult,
  type BlockStepReport,
  backMatchingPropagation,
  type SubSolver,
  type SubSolverChoice,
  type SubStepReport,
} from './backmatching/procedure';
export * from './claims';
export {
  type ConvGeometry,
  convBnHW,
  convBnHz,
  convHW,
  convHz,
  denseBnHW,
  denseBnHz,
  denseBnHzPerSample,
  denseHW,
  denseHz,
  denseHzPerSample,
  residualGaussNewtonZ,
  unrolledConv,
} from './hessians/closed-forms';
export {
  compareWithScalars,
  type ScalarComparison,
  type ScalarComparisonOptions,
  type TraceRatios,
  visibleTapFraction,
} from './hessians/eq24';
export {
  type LocalHessianOperator,
  type LocalHessianSpec,
  localHessianMatrix,
  localHessianMatrixAsync,
  localHessianOperator,
} from './hessians/local-hessian';
export { operatorTrace, operatorTraceAsync, type TraceEstimate, type TraceOptions } from './hessians/trace';
export { tfOperator } from './spectra/operator';
