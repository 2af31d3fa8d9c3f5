import { describe, expect, it } from 'vitest';
import { redact, redisTarget, scrub } from '../src/queue/redis-url';
import { runCli, tempDir } from './helpers';

describe('Redis URLs of --queue', () => {
  it('redact hides the password (and a user-only secret), keeps host, port and database', () => {
    expect(redact('redis://user:s3cret@host:6380/2')).toBe('redis://user:***@host:6380/2');
    expect(redact('redis://:s3cret@host')).toBe('redis://:***@host');
    expect(redact('rediss://s3cret@host:6379')).toBe('rediss://***@host:6379');
    expect(redact('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
    expect(redact('not a url s3cret')).toBe('<redis url>');
    expect(scrub('NOAUTH s3cret here', ['s3cret'])).toBe('NOAUTH *** here');
  });

  it('parses the URL, BMP_REDIS_URL and BMP_REDIS_PASSWORD; TLS with rediss://', () => {
    const t = redisTarget('redis://bob:p%40ss@h.example:6390/3', {});
    expect(t.options).toMatchObject({
      host: 'h.example',
      port: 6390,
      db: 3,
      username: 'bob',
      password: 'p@ss',
    });
    expect(t.display).toBe('redis://bob:***@h.example:6390/3');
    const e = redisTarget(undefined, { BMP_REDIS_URL: 'rediss://h', BMP_REDIS_PASSWORD: 'x' });
    expect(e.options).toMatchObject({ host: 'h', port: 6379, db: 0, password: 'x' });
    expect(e.options.tls).toBeDefined();
    expect(() => redisTarget(undefined, {})).toThrow(/BMP_REDIS_URL/);
    expect(() => redisTarget('http://h', {})).toThrow(/redis:\/\//);
    expect(() => redisTarget('redis://:pw@h/x', {})).toThrow(/database/);
    try {
      redisTarget('redis://:pw-secret@h/x', {});
    } catch (err) {
      expect((err as Error).message).not.toContain('pw-secret');
    }
  });

  it('a server that cannot be reached is one line and exit 7, without the password', async () => {
    const r = await runCli([
      'worker',
      '--queue',
      'redis://:pw-unreachable-9@127.0.0.1:1',
      '--log-dir',
      tempDir(),
    ]);
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(
      /^error: --queue redis:\/\/:\*\*\*@127\.0\.0\.1:1: cannot reach Redis \(connect ECONNREFUSED/,
    );
    expect(r.stderr + r.stdout).not.toContain('pw-unreachable-9');
    const e = await runCli(['worker'], { env: { BMP_REDIS_URL: '' } });
    expect(e.code).toBe(2);
    expect(e.stderr).toContain('BMP_REDIS_URL');
  });
});
