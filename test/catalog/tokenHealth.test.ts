import { assessToken, readJwtClaims } from '../../src/contract/tokenHealth';
import { fakeJwt } from '../support/fakes';

const AUTHOR = 'CB9AEFCBEB947FD5D25D29A477B9CBC572AAD7BEF3236FF55724282F7C8CE8BE';
const NOW = new Date('2026-11-28T02:00:00Z');
const inOneHour = NOW.getTime() / 1000 + 3600;

describe('assessToken', () => {
  test.each([
    ['no token', undefined, { status: 'absent', sendToken: false }],
    ['null', null, { status: 'absent', sendToken: false }],
    ['blank', '  ', { status: 'absent', sendToken: false }],
    ['not a JWT', 'opaque-token', { status: 'unreadable', sendToken: false }],
    [
      'a JWT whose payload is not JSON',
      'eyJhbGciOiJub25lIn0.bm90IGpzb24.sig',
      { status: 'unreadable', sendToken: false },
    ],
  ])('%s', (_, token, expected) => {
    expect(assessToken(token, AUTHOR, NOW)).toEqual(expected);
  });

  test('valid: this author, not expired; the header is sent and expiry recorded', () => {
    expect(assessToken(fakeJwt({ author_id: AUTHOR, exp: inOneHour, iss: 'MAMLSTS' }), AUTHOR, NOW)).toEqual({
      status: 'valid',
      sendToken: true,
      expiresAt: '2026-11-28T03:00:00Z',
    });
  });

  test('author IDs compare without regard to case', () => {
    expect(
      assessToken(fakeJwt({ author_id: AUTHOR.toLowerCase(), exp: inOneHour }), AUTHOR, NOW).status,
    ).toBe('valid');
  });

  test('expired at the start of the export', () => {
    expect(assessToken(fakeJwt({ author_id: AUTHOR, exp: NOW.getTime() / 1000 }), AUTHOR, NOW)).toEqual({
      status: 'expired',
      sendToken: false,
      expiresAt: '2026-11-28T02:00:00Z',
    });
  });

  test('mismatch: the author_id claim names someone else (even if expired)', () => {
    const health = assessToken(fakeJwt({ author_id: 'A'.repeat(64), exp: 1 }), AUTHOR, NOW);
    expect(health).toEqual({ status: 'mismatch', sendToken: false, expiresAt: '1970-01-01T00:00:01Z' });
  });

  test('a JWT without author_id cannot be attributed: unreadable', () => {
    expect(assessToken(fakeJwt({ exp: inOneHour }), AUTHOR, NOW)).toMatchObject({
      status: 'unreadable',
      sendToken: false,
    });
  });

  test('a JWT without exp is valid but has no expiry', () => {
    expect(assessToken(fakeJwt({ author_id: AUTHOR }), AUTHOR, NOW)).toEqual({
      status: 'valid',
      sendToken: true,
    });
  });
});

test('readJwtClaims ignores non-numeric exp and non-string author_id', () => {
  expect(readJwtClaims(fakeJwt({ exp: '123', author_id: 5 }))).toEqual({
    exp: undefined,
    authorId: undefined,
  });
  expect(readJwtClaims('a.b')).toBeUndefined();
  expect(readJwtClaims('a.b!.c')).toBeUndefined();
});
