import type { SessionFactory } from '@tether/sessions';
import type { LoginManager } from '../logins/index.js';
import { AuthenticationError, EmailTakenError, RateLimitedError } from './errors.js';
import { decoyHash, hashPassword, verifyPassword } from './passwords.js';
import type { AccessTokens } from './tokens.js';

export interface RegisteredUser {
  readonly id: string;
  readonly email: string;
}

/** What login and refresh answer (the HTTP contract's body). */
export interface TokenPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
  readonly sessionId: string;
}

/** An authenticated caller: who, and through which login session. */
export interface Principal {
  readonly userId: string;
  readonly sessionId: string;
  /** When the access token stops working (epoch milliseconds). */
  readonly tokenExpiresAt: number;
}

export interface AuthServiceOptions {
  readonly factory: SessionFactory;
  readonly logins: LoginManager;
  readonly tokens: AccessTokens;
  readonly passwordHashCost: number;
  readonly loginAttemptsPerMinute: number;
}

interface RequestDetails {
  readonly requestId?: string;
  readonly userAgent?: string | null;
  /** The client's address: whose turn it is among waiting password hashes. */
  readonly clientAddress?: string;
}

/**
 * Registration, login, refresh, logout and the check of every authenticated call. Reading a user by email
 * happens before anyone is known, so it runs as the `service:auth` identity; everything after runs as the user.
 */
export class AuthService {
  private decoy: Promise<string> | undefined;
  private readonly attempts = new Map<string, { windowStart: number; count: number }>();

  constructor(private readonly options: AuthServiceOptions) {}

  async register(email: string, password: string, details: RequestDetails = {}): Promise<RegisteredUser> {
    const hash = await hashPassword(password, this.options.passwordHashCost, details.clientAddress);
    try {
      const { rows } = await this.options.factory.withSession(
        { userId: 'service:auth', ...requestIdOf(details) },
        (s) =>
          s.query<RegisteredUser>('INSERT INTO users (email, password_hash) VALUES ($1, $2) RETURNING id, email', [
            email,
            hash,
          ]),
      );
      return rows[0] as RegisteredUser;
    } catch (error) {
      if ((error as { code?: string }).code === '23505')
        throw new EmailTakenError('an account with this email already exists');
      throw error;
    }
  }

  async login(email: string, password: string, details: RequestDetails = {}): Promise<TokenPair> {
    this.countAttempt(email);
    const { rows } = await this.options.factory.withSession({ userId: 'service:auth', ...requestIdOf(details) }, (s) =>
      s.query<{ id: string; password_hash: string }>(
        'SELECT id, password_hash FROM users WHERE lower(email) = lower($1)',
        [email],
      ),
    );
    const user = rows[0];
    // the same work whether or not the user exists: timing does not reveal registered addresses
    const ok = await verifyPassword(
      password,
      user?.password_hash ?? (await (this.decoy ??= decoyHash(this.options.passwordHashCost))),
      details.clientAddress,
    );
    if (!user || !ok) throw new AuthenticationError('invalid_credentials', 'wrong email or password');
    this.attempts.delete(email.toLowerCase());
    const issued = await this.options.logins.create(user.id, details);
    return this.pair(user.id, issued.login.id, issued.refreshToken);
  }

  async refresh(refreshToken: string, details: RequestDetails = {}): Promise<TokenPair> {
    const issued = await this.options.logins.refresh(refreshToken, requestIdOf(details));
    return this.pair(issued.login.userId, issued.login.id, issued.refreshToken);
  }

  async logout(principal: Principal, all: boolean): Promise<void> {
    if (all) await this.options.logins.revokeAll(principal.userId);
    else await this.options.logins.revoke(principal.userId, principal.sessionId);
  }

  /** Verifies an access token and that its login session is still live. */
  async authenticate(token: string | undefined | null): Promise<Principal> {
    const claims = await this.options.tokens.verify(token);
    await this.options.logins.validate(claims.userId, claims.sessionId);
    return { userId: claims.userId, sessionId: claims.sessionId, tokenExpiresAt: claims.expiresAt };
  }

  private async pair(userId: string, sessionId: string, refreshToken: string): Promise<TokenPair> {
    const { token, expiresIn } = await this.options.tokens.issue(userId, sessionId);
    return { accessToken: token, refreshToken, expiresIn, sessionId };
  }

  /** A fixed window per address: enough to slow password guessing without shared state. */
  private countAttempt(email: string): void {
    const key = email.toLowerCase();
    const now = Date.now();
    const entry = this.attempts.get(key);
    if (!entry || now - entry.windowStart >= 60_000) {
      // bounded memory without forgetting live windows: clearing everything here let a flood of logins for
      // made-up addresses reset the count of the account under attack
      if (this.attempts.size >= 100_000) {
        for (const [k, e] of this.attempts) if (now - e.windowStart >= 60_000) this.attempts.delete(k);
      }
      this.attempts.set(key, { windowStart: now, count: 1 });
      return;
    }
    entry.count++;
    if (entry.count > this.options.loginAttemptsPerMinute) {
      throw new RateLimitedError(
        'too many login attempts for this address; try again later',
        Math.ceil((entry.windowStart + 60_000 - now) / 1000),
      );
    }
  }
}

function requestIdOf(details: RequestDetails): { requestId?: string } {
  return details.requestId ? { requestId: details.requestId } : {};
}
