/** Value parsers of the command line: each names what it expected. */
import { InvalidArgumentError } from 'commander';
import { AUGMENTS, type TrainSettings } from '../config';

function num(what: string, ok: (x: number) => boolean) {
  return (value: string): number => {
    const x = Number(value);
    if (value.trim() === '' || !Number.isFinite(x) || !ok(x))
      throw new InvalidArgumentError(`expected ${what}.`);
    return x;
  };
}
export const positive = num('a number > 0', (x) => x > 0);
export const nonNegative = num('a number >= 0', (x) => x >= 0);
export const positiveInt = num('an integer >= 1', (x) => Number.isInteger(x) && x >= 1);
export const nonNegativeInt = num('an integer >= 0', (x) => Number.isInteger(x) && x >= 0);
export const integer = num('an integer', (x) => Number.isInteger(x));
export const unitInterval = num('a number in [0, 1)', (x) => x >= 0 && x < 1);
export const fraction = num('a number in (0, 1)', (x) => x > 0 && x < 1);

export function positiveList(value: string): number[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new InvalidArgumentError('expected a comma-separated list of numbers > 0.');
  return items.map((s) => positive(s));
}

export function augmentList(value: string): TrainSettings['augment'] {
  if (value === 'none' || value === '') return [];
  const items = value.split(',').map((s) => s.trim());
  for (const i of items) {
    if (!(AUGMENTS as readonly string[]).includes(i)) {
      throw new InvalidArgumentError(
        `unknown augmentation '${i}'; expected a comma-separated list of ${AUGMENTS.join(', ')} (or none).`,
      );
    }
  }
  return items as TrainSettings['augment'];
}

export function shape3(value: string): [number, number, number] {
  const parts = value.split(/[x,]/).map((s) => Number(s));
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 1)) {
    throw new InvalidArgumentError('expected HxWxC, e.g. 32x32x3.');
  }
  return parts as [number, number, number];
}

export function blockList(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((n) => n === ''))
    throw new InvalidArgumentError(
      'expected comma-separated block names, e.g. conv1,conv2 (no empty names).',
    );
  return names;
}

export function seedsOption(value: string): number[] {
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n < 1) throw new InvalidArgumentError('expected a count >= 1 or a comma-separated list of seeds.');
    return Array.from({ length: n }, (_, i) => i);
  }
  const items = value.split(',').map((s) => s.trim());
  if (items.length < 1 || items.some((s) => !/^-?\d+$/.test(s))) {
    throw new InvalidArgumentError(
      'expected a count (3 = seeds 0,1,2) or a comma-separated list of integer seeds.',
    );
  }
  return items.map(Number);
}
