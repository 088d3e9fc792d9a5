/**
 * canonicalJson is the text behind an application's event id (sha256 of the etdApp with sorted keys): its output may
 * never change for a JSON value, or one application would get two ids across an upgrade. These tests hold it to the
 * plain definition it had first (map and join) and to the sample's known digest.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { appRefNumberFor, applicationDigest } from '../src/ids';
import { canonicalJson, quotedKeysKept, type JsonObject } from '../src/json';

/** The first definition, kept here as the reference. */
function reference(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => reference(v)).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const object = value as Record<string, unknown>;
    const keys = Object.keys(object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${reference(object[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const SAMPLE = JSON.parse(readFileSync(path.join(__dirname, '../../../config/samples/etd-application.json'), 'utf8')) as { etdApp: JsonObject };

describe('canonicalJson', () => {
  it('gives the reference text for any JSON value (as JSON.parse gives them, __proto__ keys included)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed: unknown = JSON.parse(JSON.stringify(value));
        expect(canonicalJson(parsed)).toBe(reference(parsed));
      }),
      { numRuns: 500, seed: 20261201 },
    );
    const proto: unknown = JSON.parse('{"b":1,"__proto__":{"x":[1,"\\u2028",null]},"a":{"__proto__":2}}');
    expect(canonicalJson(proto)).toBe('{"__proto__":{"x":[1,"\u2028",null]},"a":{"__proto__":2},"b":1}');
    expect(canonicalJson(proto)).toBe(reference(proto));
  });

  it('is the same text whatever the key order, and differs when a value differs', () => {
    const a: unknown = JSON.parse('{"z":{"b":[1,{"d":2,"c":3}],"a":"x"},"y":true}');
    const b: unknown = JSON.parse('{"y":true,"z":{"a":"x","b":[1,{"c":3,"d":2}]}}');
    const c: unknown = JSON.parse('{"y":true,"z":{"a":"x","b":[{"c":3,"d":2},1]}}');
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).not.toBe(canonicalJson(c));
  });

  it('keeps at most 4,096 quoted keys of at most 64 characters, and quotes the others correctly each time', () => {
    const long = { [`${'x'.repeat(64)}"`]: 1, [`${'y'.repeat(10000)}`]: [2] };
    const kept = quotedKeysKept();
    expect(canonicalJson(long)).toBe(reference(long));
    expect(canonicalJson(long)).toBe(reference(long));
    expect(quotedKeysKept()).toBe(kept);
    const wide: Record<string, number> = {};
    for (let i = 0; i < 6000; i++) wide[`k"${i}\\`] = i;
    expect(canonicalJson(wide)).toBe(reference(wide));
    expect(canonicalJson(wide)).toBe(reference(wide));
    expect(quotedKeysKept()).toBe(4096);
  });

  it("keeps the sample application's event id (the digest of every earlier version)", () => {
    const digest = applicationDigest(SAMPLE.etdApp);
    expect(digest).toBe('377a75c9bf5ab711dd6c92a22172b20667a8e4582c9e0e240d0f5c914a1b2e97');
    expect(appRefNumberFor(digest)).toBe('ETD6XX7BJDZBA');
  });
});
