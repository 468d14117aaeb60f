import { Inject, Injectable, Logger } from '@nestjs/common';
import { errors, jwtVerify, type JWTPayload, type JWTVerifyOptions } from 'jose';
import { ProblemException } from '@app/http';
import { KeySourceUnavailableError, type JwtSettings } from './jwt-settings';
import { invalidToken, principalFromClaims, type Principal } from './principal';

/** Injection token of the resolved JwtSettings. */
export const JWT_SETTINGS = Symbol('JWT_SETTINGS');

// Tolerates small clock drift between an identity provider and this server.
const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * Tokens already verified, by their exact text: a client sends the same token with every request,
 * and checking its signature again each time was 5% of a command's CPU under load (bench:http).
 * An entry holds until the token's own expiry (as jose checks it, with the same tolerance), and a
 * JWKS-verified one at most a minute, so a key removed from the JWKS stops being accepted soon.
 */
const VERIFIED_TOKENS = 10_000;
const JWKS_TOKEN_CACHE_MS = 60_000;

/** Verifies bearer tokens against the configured key and algorithms and reads their Principal. */
@Injectable()
export class JwtVerifier {
  private readonly logger = new Logger('Auth');

  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(@Inject(JWT_SETTINGS) private readonly settings: JwtSettings) {}

  /** Resolves the token's Principal; rejects with a 401 ProblemException (503 when JWKS is down). */
  async verify(token: string): Promise<Principal> {
    const now = Date.now();
    const cached = this.verified.get(token);
    if (cached && now < cached.until) return cached.principal;
    if (cached) this.verified.delete(token);
    const { principal, exp } = await this.verifyNow(token);
    const until = Math.min(
      (exp + CLOCK_TOLERANCE_SECONDS) * 1000,
      this.settings.mode === 'secret' ? Number.POSITIVE_INFINITY : now + JWKS_TOKEN_CACHE_MS,
    );
    if (this.verified.size >= VERIFIED_TOKENS) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(token, { principal, until });
    return principal;
  }

  private async verifyNow(token: string): Promise<{ principal: Principal; exp: number }> {
    const options: JWTVerifyOptions = {
      // Pinning the algorithms stops an HS256 token signed with a public key passing as RS256, and vice versa.
      algorithms: [...this.settings.algorithms],
      // A token that never expires cannot be revoked short of rotating the key for everyone.
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    };
    let payload: JWTPayload;
    try {
      payload =
        this.settings.mode === 'secret'
          ? (await jwtVerify(token, this.settings.secret, options)).payload
          : (await jwtVerify(token, this.settings.keys, options)).payload;
    } catch (error) {
      throw this.toProblem(error);
    }
    // requiredClaims makes jose refuse a token without a numeric exp.
    return { principal: principalFromClaims(payload), exp: payload.exp as number };
  }

  /**
   * A well-formed token whose signature does not match was signed with another key: on the
   * embedded default usually one minted for another DATA_DIR (each generates its own secret).
   */
  private wrongKeyHint(): string {
    const cause =
      this.settings.mode === 'secret'
        ? 'it was signed with another secret than this server verifies with: minted for another DATA_DIR (each generates its own jwt-secret) or with another JWT_SECRET. Mint a new token with the same DATA_DIR or JWT_SECRET as the server'
        : 'it was signed by a key that is not in this server’s JWKS (JWT_JWKS_URL): another identity provider or a rotated key';
    return `The bearer token is invalid: signature verification failed; ${cause}.`;
  }

  private toProblem(error: unknown): unknown {
    if (error instanceof errors.JWTExpired) return invalidToken('TOKEN_EXPIRED', 'The bearer token has expired; obtain a new one.');
    if (error instanceof KeySourceUnavailableError) {
      this.logger.error(error.message);
      return new ProblemException(
        503,
        'AUTHENTICATION_UNAVAILABLE',
        'The keys that verify bearer tokens cannot be fetched right now; retry later.',
        {
          headers: { 'Retry-After': '30' },
        },
      );
    }
    if (error instanceof errors.JWSSignatureVerificationFailed) return invalidToken('TOKEN_INVALID', this.wrongKeyHint());
    if (error instanceof errors.JOSEError) return invalidToken('TOKEN_INVALID', `The bearer token is invalid: ${error.message}.`);
    // jose reports malformed input as JOSEError; anything else is a fault of ours, not the client's.
    return error;
  }
}
