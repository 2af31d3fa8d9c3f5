import { describe, expect, it } from 'vitest';
import { JsonlLineParser, parseJsonl, parseJsonlChunks, toJsonlLine } from '../src/index';
import { epochRecord, stepRecord } from './fixtures';

const lines = (...values: unknown[]) => values.map(toJsonlLine).join('');

describe('parseJsonl (string, browser-safe)', () => {
  it('round-trips records', () => {
    const recs = [stepRecord(), epochRecord(), stepRecord({ step: 150, loss: 0.9 })];
    const r = parseJsonl(lines(...recs));
    expect(r.records).toEqual(recs);
    expect(r.problems).toEqual([]);
    expect(r.lines).toBe(3);
  });

  it('reports malformed, invalid and partial lines with their line numbers, keeps the rest', () => {
    const text =
      toJsonlLine(stepRecord({ step: 1 })) +
      '{"type":"step", this is not json\n' + // 2: malformed
      '\n' + // 3: blank, ignored
      toJsonlLine(stepRecord({ step: 2, loss: 'big' as never })) + // 4: wrong type
      toJsonlLine({ type: 'gradient', v: 1 }) + // 5: unknown record type
      toJsonlLine(epochRecord({ epoch: 3 })) + // 6: fine
      '{"type":"epoch","v":1,"epoch":4,"ste'; // 7: cut short
    const r = parseJsonl(text);
    expect(r.records.map((x) => (x.type === 'epoch' ? `e${x.epoch}` : `s${x.step}`))).toEqual(['s1', 'e3']);
    expect(r.problems.map((p) => p.line)).toEqual([2, 4, 5, 7]);
    expect(r.problems[0].message).toMatch(/^not valid JSON/);
    expect(r.problems[1].message).toMatch(/^loss: /);
    expect(r.problems[2].message).toMatch(/unknown record type "gradient"/);
    expect(r.problems[3].message).toMatch(/incomplete last line/);
    expect(r.lines).toBe(7);
  });

  it('keeps a valid last line without its newline, handles CRLF and a BOM', () => {
    const text = `\ufeff${JSON.stringify(stepRecord({ step: 1 }))}\r\n${JSON.stringify(stepRecord({ step: 2 }))}`;
    const r = parseJsonl(text);
    expect(r.problems).toEqual([]);
    expect(r.records.map((x) => x.type === 'step' && x.step)).toEqual([1, 2]);
  });

  it('validate: false keeps any JSON value; a custom validator is used as given', () => {
    expect(parseJsonl('1\n"a"\n{"x":2}\n', { validate: false }).records).toEqual([1, 'a', { x: 2 }]);
    const r = parseJsonl<number>('1\n-2\n', {
      validate: (v) =>
        typeof v === 'number' && v > 0
          ? { ok: true, value: v }
          : { ok: false, error: '(root): must be positive', issues: [] },
    });
    expect(r.records).toEqual([1]);
    expect(r.problems).toEqual([{ line: 2, message: '(root): must be positive' }]);
  });

  it('never throws, whatever the input', () => {
    for (const text of ['', '\n\n', '}', 'null\n', '[]', '\u0000\u0001', '{"type":"epoch"}\n{']) {
      expect(() => parseJsonl(text)).not.toThrow();
    }
    expect(parseJsonl('').records).toEqual([]);
  });
});

describe('incremental parsing', () => {
  it('gives the same result however the text is split', () => {
    const text = lines(stepRecord({ step: 1 }), epochRecord(), { type: 'step' }, stepRecord({ step: 3 }));
    const whole = parseJsonl(text);
    for (const size of [1, 2, 7, 64]) {
      const p = new JsonlLineParser();
      for (let i = 0; i < text.length; i += size) p.push(text.slice(i, i + size));
      expect(p.end()).toEqual(whole);
    }
  });

  it('decodes UTF-8 split inside a multi-byte character', async () => {
    const text = lines(stepRecord({ step: 1, note: 'ε → λ_max' } as never));
    const bytes = new TextEncoder().encode(text);
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b)); // one byte at a time
    const r = await parseJsonlChunks(chunks);
    expect(r.problems).toEqual([]);
    expect((r.records[0] as unknown as { note: string }).note).toBe('ε → λ_max');
  });
});
