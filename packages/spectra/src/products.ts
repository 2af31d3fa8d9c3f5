/**
 * An algorithm that touches its operator only through products is written once, as a generator that
 * yields each vector v it needs multiplied and receives A v back (`yield` returns it); `runProducts`
 * drives it with a synchronous product, `runProductsAsync` with an asynchronous one (a GPU readback).
 * Both feed the same arithmetic, so the two forms give identical results for identical products.
 */
export type ProductSteps<R> = Generator<Float64Array, R, Float64Array>;

/** Runs `steps` to completion, answering each request with `apply(v)`. */
export function runProducts<R>(steps: ProductSteps<R>, apply: (v: Float64Array) => Float64Array): R {
  let r = steps.next();
  while (!r.done) r = steps.next(apply(r.value));
  return r.value;
}

/** Runs `steps` to completion, answering each request with `await apply(v)` (one product at a time). */
export async function runProductsAsync<R>(
  steps: ProductSteps<R>,
  apply: (v: Float64Array) => Promise<Float64Array>,
): Promise<R> {
  let r = steps.next();
  while (!r.done) r = steps.next(await apply(r.value));
  return r.value;
}
