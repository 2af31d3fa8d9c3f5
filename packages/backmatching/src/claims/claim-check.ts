/**
 * One of the paper's claims run as a check. Same shape as `claimCheckSchema` of `@bmp/runlog`
 * (analysis.json's `claims`; the tests validate the report against it): `passed` says whether
 * `measured` met `bound` under `relation` (and any side condition named in `details`).
 */
export interface ClaimCheck {
  name: string;
  passed: boolean;
  measured: number;
  bound: number;
  relation: '<=' | '<' | '>=' | '>';
  /** Where the claim is in the paper, e.g. 'Remark 2 (eq. 17)'. */
  reference: string;
  description: string;
  seed: number;
  /** `sizes`: the fixed sizes the check used; the rest are its intermediate measurements. */
  details: { sizes: Record<string, number>; [key: string]: unknown };
}

export function meets(measured: number, relation: ClaimCheck['relation'], bound: number): boolean {
  switch (relation) {
    case '<=':
      return measured <= bound;
    case '<':
      return measured < bound;
    case '>=':
      return measured >= bound;
    case '>':
      return measured > bound;
  }
}

/**
 * Builds the check: `passed` = `measured relation bound` and `extra` (side conditions, e.g. "the
 * assumptions were met"). A non-finite measurement (JSON cannot hold it) fails the check; its value is
 * kept as text in `details.measuredNonFinite` and `measured` becomes Number.MAX_VALUE.
 */
export function claimCheck(c: Omit<ClaimCheck, 'passed'> & { extra?: boolean }): ClaimCheck {
  const { extra = true, ...rest } = c;
  if (!Number.isFinite(rest.bound)) throw new Error(`claim ${rest.name}: bound ${rest.bound} is not finite`);
  if (!Number.isFinite(rest.measured)) {
    return {
      ...rest,
      passed: false,
      measured: Number.MAX_VALUE,
      details: { ...rest.details, measuredNonFinite: String(rest.measured) },
    };
  }
  return { ...rest, passed: extra && meets(rest.measured, rest.relation, rest.bound) };
}

/** Ascending eigenvalues' largest |a_i - b_i| / scale. */
export function maxSpectrumDifference(a: ArrayLike<number>, b: ArrayLike<number>, scale: number): number {
  if (a.length !== b.length) throw new Error(`spectra of ${a.length} and ${b.length} values`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / scale);
  return worst;
}

/** Rounded for reports (the check itself uses the full value). */
export function round(x: number, digits = 6): number {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)) : x;
}
