import { errors, jwtVerify, SignJWT } from 'jose';
import { AuthenticationError } from './errors.js';

/** What a verified access token says: who, and which login session (`sid`) it belongs to. */
export interface AccessTokenClaims {
  readonly userId: string;
  readonly sessionId: string;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

const ISSUER = 'tether';
const AUDIENCE = 'tether-api';

/**
 * Signs and verifies access tokens: HS256 JWTs whose `sub` is the user and `sid` the login session row.
 * Verification accepts HS256 only, so `alg: none` and algorithm-confusion tokens are refused.
 */
export class AccessTokens {
  /**
   * Tokens already verified, by their exact text: the same bytes verify the same way, so only the expiry is
   * checked again. Spares an HMAC (WebCrypto) per request; bounded, and cleared when full.
   */
  private readonly verified = new Map<string, AccessTokenClaims>();
  private static readonly VERIFIED_MAX = 10_000;

  constructor(
    private readonly secret: Uint8Array,
    readonly ttlSeconds: number,
  ) {}

  async issue(userId: string, sessionId: string): Promise<{ token: string; expiresIn: number }> {
    const token = await new SignJWT({ sid: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.secret);
    return { token, expiresIn: this.ttlSeconds };
  }

  async verify(token: string | undefined | null): Promise<AccessTokenClaims> {
    if (!token) throw new AuthenticationError('token_missing', 'an access token is required');
    const known = this.verified.get(token);
    if (known) {
      if (known.expiresAt > Date.now()) return known;
      this.verified.delete(token);
      throw new AuthenticationError('token_expired', 'the access token has expired');
    }
    const claims = await this.verifySignature(token);
    if (this.verified.size >= AccessTokens.VERIFIED_MAX) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }

  private async verifySignature(token: string): Promise<AccessTokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'exp', 'sid'],
      });
      if (typeof payload.sub !== 'string' || typeof payload.sid !== 'string' || typeof payload.exp !== 'number') {
        throw new AuthenticationError('token_invalid', 'the access token lacks sub, sid or exp');
      }
      return { userId: payload.sub, sessionId: payload.sid, expiresAt: payload.exp * 1000 };
    } catch (error) {
      if (error instanceof AuthenticationError) throw error;
      if (error instanceof errors.JWTExpired)
        throw new AuthenticationError('token_expired', 'the access token has expired', { cause: error });
      throw new AuthenticationError('token_invalid', 'the access token is not valid', { cause: error });
    }
  }
}
