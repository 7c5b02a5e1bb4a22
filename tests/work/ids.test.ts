// Identifiers: time-ordered UUIDv7s, W3C trace context, random tokens.
import { describe, expect, it } from 'vitest';
import {
  formatTraceparent,
  isUuid,
  newSpanId,
  newTraceId,
  parseTraceparent,
  randomToken,
  uuidv7,
} from '../../work/ids.js';

describe('uuidv7', () => {
  it('makes unique ids that sort in the order they were made, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7(1_767_603_600_000));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids.every(isUuid)).toBe(true);
  });

  it('puts the millisecond time in the first 48 bits and marks version 7, variant 10', () => {
    const id = uuidv7(Date.UTC(2030, 0, 5, 9));
    expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(Date.UTC(2030, 0, 5, 9));
    expect(id[14]).toBe('7');
    expect('89ab').toContain(id[19]);
  });

  it('encodes every bit of the 48-bit time, across the byte boundaries', () => {
    // Increasing, so that each is later than every id made before it and is used as given.
    const times = [2 ** 41 + 1, 2 ** 42 + 0xffffff, 2 ** 44 + 0x1000000, 2 ** 47 - 1, 2 ** 48 - 1];
    for (const ms of times) {
      const id = uuidv7(ms);
      expect(isUuid(id)).toBe(true);
      expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(ms);
    }
  });
});

describe('random tokens and trace ids', () => {
  it('never repeats a token', () => {
    const tokens = Array.from({ length: 2000 }, () => randomToken(30));
    expect(new Set(tokens).size).toBe(tokens.length);
    expect(tokens.every((t) => /^[A-Za-z0-9_-]{40}$/.test(t))).toBe(true);
  });

  it('round-trips a traceparent and refuses malformed or all-zero ones', () => {
    const ctx = { traceId: newTraceId(), spanId: newSpanId(), sampled: true };
    expect(parseTraceparent(formatTraceparent(ctx))).toEqual(ctx);
    expect(parseTraceparent(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7')).toBeUndefined();
    expect(parseTraceparent(`00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`)).toBeUndefined();
    expect(parseTraceparent('not a traceparent')).toBeUndefined();
    // Upper case and surrounding blanks are forgiven, as before.
    expect(parseTraceparent(' 00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01 ')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    expect(parseTraceparent(undefined)).toBeUndefined();
  });
});
