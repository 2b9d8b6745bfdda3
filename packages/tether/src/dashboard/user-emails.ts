import { isUuid } from '@tether/sessions';

/** One query for many ids: the emails of those that exist. */
export type EmailLookup = (ids: readonly string[]) => Promise<ReadonlyMap<string, string>>;

export interface UserEmailsOptions {
  /** Most ids remembered (the oldest are forgotten first). */
  readonly maxEntries?: number;
  /** How long an email is trusted before it is looked up again (a user may change it). */
  readonly ttlMs?: number;
  /** After a failed lookup (the database is away), how long to wait before the next. */
  readonly retryMs?: number;
  /** Most ids in one lookup. */
  readonly batch?: number;
}

/**
 * Emails of user ids for the dashboard's rows, from a cache. Ids not yet known are looked up together, one
 * lookup at a time, never one query per id or per frame; until an answer comes the id itself is shown.
 */
export class UserEmails {
  private readonly known = new Map<string, { email: string | null; at: number }>();
  private readonly wanted = new Set<string>();
  private inFlight = false;
  private retryAt = 0;
  private readonly maxEntries: number;
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private readonly batch: number;

  constructor(
    private readonly lookup: EmailLookup,
    options: UserEmailsOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 10_000;
    this.ttlMs = options.ttlMs ?? 10 * 60_000;
    this.retryMs = options.retryMs ?? 5_000;
    this.batch = options.batch ?? 500;
  }

  /** The email of `userId` when known; otherwise null, and the id is queued for the next lookup. */
  emailOf(userId: string | null): string | null {
    if (userId === null || !isUuid(userId)) return null; // anonymous, `system`, `service:<name>`: shown as they are
    const entry = this.known.get(userId);
    if (!entry || Date.now() - entry.at > this.ttlMs) this.wanted.add(userId);
    return entry?.email ?? null;
  }

  /** Whether `userId` is queued for a lookup, or in the one running. */
  pending(userId: string): boolean {
    return this.wanted.has(userId) && Date.now() >= this.retryAt;
  }

  /** Starts one lookup of the queued ids, unless one is running or the last failed recently. */
  resolve(): Promise<void> | undefined {
    if (this.inFlight || this.wanted.size === 0 || Date.now() < this.retryAt) return undefined;
    const ids = [...this.wanted].slice(0, this.batch);
    this.inFlight = true;
    return this.lookup(ids).then(
      (emails) => {
        const at = Date.now();
        for (const id of ids) {
          this.wanted.delete(id);
          this.known.delete(id); // re-inserted last: the map's order is the eviction order
          this.known.set(id, { email: emails.get(id) ?? null, at });
        }
        for (const id of this.known.keys()) {
          if (this.known.size <= this.maxEntries) break;
          this.known.delete(id);
        }
        this.inFlight = false;
      },
      () => {
        this.retryAt = Date.now() + this.retryMs;
        this.inFlight = false;
      },
    );
  }
}
