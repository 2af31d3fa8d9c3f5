import { describe, expect, it } from 'vitest';
import { csvField, recordsToCsv, seriesToCsv, toCsv } from '../src/index';

describe('CSV export', () => {
  it('quotes fields as RFC 4180 says and leaves non-finite numbers empty', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(0.1)).toBe('0.1');
    expect(csvField(Number.NaN)).toBe('');
    expect(csvField(null)).toBe('');
    expect(toCsv(['a', 'b'], [[1, 'x,y']])).toBe('a,b\n1,"x,y"\n');
  });

  it('joins series on x, leaving gaps empty', () => {
    const csv = seriesToCsv(
      [
        {
          name: 'sgd',
          points: [
            { x: 0, y: 0.5 },
            { x: 1, y: 0.4 },
          ],
        },
        {
          name: 'scale-amended, smoothed',
          points: [
            { x: 1, y: 0.3 },
            { x: 2, y: 0.25 },
          ],
        },
      ],
      'epoch',
    );
    expect(csv).toBe('epoch,sgd,"scale-amended, smoothed"\n0,0.5,\n1,0.4,0.3\n2,,0.25\n');
  });

  it('writes records with nested values as JSON', () => {
    const csv = recordsToCsv([
      { epoch: 0, lr: 0.1, scales: [{ name: 'b', m: 1 }] },
      { epoch: 1, lr: 0.05, extra: true },
    ]);
    expect(csv).toBe('epoch,lr,scales,extra\n0,0.1,"[{""name"":""b"",""m"":1}]",\n1,0.05,,true\n');
    expect(recordsToCsv([{ a: 1, b: 2 }], ['b'])).toBe('b\n2\n');
  });
});
