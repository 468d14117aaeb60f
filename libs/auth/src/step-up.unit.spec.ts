import fc from 'fast-check';
import { ProblemException } from '@app/http';
import { AUTH_TIME_SKEW_SECONDS, authenticationFreshness, requireFreshAuthentication } from './step-up';

const now = new Date('2026-06-30T12:00:00.000Z');
const nowSeconds = now.getTime() / 1000;

function refusal(authTime: number | undefined, maxAge = 300): ProblemException {
  try {
    requireFreshAuthentication(authTime === undefined ? {} : { authTime }, now, maxAge);
  } catch (error) {
    if (error instanceof ProblemException) return error;
    throw error;
  }
  throw new Error('expected the signing to be refused');
}

describe('the signing ceremony: a fresh authentication (21 CFR 11.200(a)(1))', () => {
  it('accepts an authentication up to and including SIGNATURE_MAX_AGE seconds old, and records it', () => {
    expect(requireFreshAuthentication({ authTime: nowSeconds - 300 }, now, 300)).toEqual({ authTime: '2026-06-30T11:55:00.000Z' });
    expect(requireFreshAuthentication({ authTime: nowSeconds, amr: ['pwd', 'otp'], acr: 'loa2' }, now, 300)).toEqual({
      authTime: '2026-06-30T12:00:00.000Z',
      amr: ['pwd', 'otp'],
      acr: 'loa2',
    });
  });

  it('keeps the milliseconds of a fractional auth_time', () => {
    expect(requireFreshAuthentication({ authTime: nowSeconds - 10.25 }, now, 300).authTime).toBe('2026-06-30T11:59:49.750Z');
  });

  it('refuses an older one with 401 SIGNATURE_REAUTHENTICATION_REQUIRED and the RFC 9470 step-up challenge', () => {
    const problem = refusal(nowSeconds - 301);
    expect(problem.problem).toMatchObject({ status: 401, code: 'SIGNATURE_REAUTHENTICATION_REQUIRED', maxAge: 300 });
    expect(problem.problem.detail).toContain('301 s ago');
    expect(problem.headers['WWW-Authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=300');
  });

  it('names the configured window in the challenge', () => {
    expect(refusal(nowSeconds - 61, 60).headers['WWW-Authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=60');
  });

  it('refuses a token without auth_time the same way', () => {
    const problem = refusal(undefined);
    expect(problem.problem).toMatchObject({ status: 401, code: 'SIGNATURE_REAUTHENTICATION_REQUIRED' });
    expect(problem.problem.detail).toContain('"auth_time"');
    expect(problem.headers['WWW-Authenticate']).toBe('Bearer error="insufficient_user_authentication", max_age=300');
  });

  it('tolerates a little clock drift into the future, not more', () => {
    expect(authenticationFreshness({ authTime: nowSeconds + AUTH_TIME_SKEW_SECONDS }, now, 300).fresh).toBe(true);
    expect(authenticationFreshness({ authTime: nowSeconds + AUTH_TIME_SKEW_SECONDS + 1 }, now, 300)).toMatchObject({
      fresh: false,
      why: 'future',
    });
    expect(refusal(nowSeconds + 3600).problem.detail).toContain('future');
  });

  it('accepts exactly the auth_times within [now - maxAge, now + skew], whatever the window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 86_400 }), fc.double({ min: -200_000, max: 200_000, noNaN: true }), (maxAge, offset) => {
        const verdict = authenticationFreshness({ authTime: nowSeconds - offset }, now, maxAge);
        expect(verdict.fresh).toBe(offset <= maxAge && offset >= -AUTH_TIME_SKEW_SECONDS);
      }),
    );
  });
});
