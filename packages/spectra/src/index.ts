// Spectral tools for local Hessians (paper section 3): operators, dense and Lanczos eigenvalues,
// stochastic Lanczos quadrature, Hutchinson traces, condition numbers, Marchenko-Pastur, Remark 1.
// Plain float64 JavaScript: no tfjs (`@bmp/backmatching`'s `tfOperator` adapts tfjs products).
export {
  type ConditionNumber,
  type ConditionOptions,
  conditionFromEigenvalues,
  conditionFromSingularValues,
  conditionNumber,
  singularValues,
} from './condition';
export { type DenseSymmetricInput, type SymmetrizeOptions, symmetricData } from './dense';
export { type SymmetricEigen, symmetricEigen } from './eigendecomposition';
export { symmetricEigenvalues, type TridiagonalizeOptions, tridiagonalize } from './eigenvalues';
export { gram } from './gram';
export {
  type HutchinsonEstimate,
  type HutchinsonOptions,
  hutchinsonTrace,
  hutchinsonTraceAsync,
} from './hutchinson';
export { type KsOptions, type KsResult, ksDistance, type LawWithAtom } from './kolmogorov-smirnov';
export {
  type LanczosOptions,
  type LanczosResult,
  type LanczosRun,
  type LanczosRunOptions,
  lanczos,
  lanczosAsync,
  lanczosRun,
  lanczosRunAsync,
} from './lanczos';
export {
  type MarchenkoPasturLaw,
  type MarchenkoPasturParams,
  marchenkoPastur,
  marchenkoPasturForBatchNorm,
  marchenkoPasturForDense,
} from './marchenko-pastur';
export {
  type AsyncSymmetricOperator,
  asyncOperator,
  type CountingOperator,
  countingOperator,
  denseOperator,
  type ExplicitMatrix,
  operatorToMatrix,
  operatorToMatrixAsync,
  type SymmetricOperator,
} from './operator';
export { type ProductSteps, runProducts, runProductsAsync } from './products';
export {
  densityOnGrid,
  lanczosQuadrature,
  lanczosQuadratureAsync,
  type Quadrature,
  type SlqOptions,
  type SpectralDensityEstimate,
  slqProbeQuadraticForms,
  slqTrace,
  stochasticLanczosQuadrature,
  stochasticLanczosQuadratureAsync,
} from './quadrature';
export {
  gaussian,
  gaussianMatrix,
  gaussianVector,
  matrixWithSpectrum,
  mulberry32,
  rademacherVector,
  randomOrthogonal,
} from './random';
export { type Remark1Check, remark1AsPrinted, remark1Corrected } from './remark1';
export {
  probeMeasures,
  type SmoothedDensity,
  type SmoothedDensityOptions,
  smoothedDensity,
} from './smoothed-density';
export {
  type CdfDistance,
  type CdfDistanceOptions,
  cdfDistance,
  type DiscreteMeasure,
  empiricalMeasure,
  measureCdf,
} from './spectral-cdf';
export { type TridiagonalEigen, tridiagonalEigen, tridiagonalEigenvalues } from './tridiagonal';
