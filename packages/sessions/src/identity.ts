import { IsolationViolationError } from './errors.js';
import type { PreludeStatement } from './wire.js';

/** Who a session acts for: a user (Row-Level Security applies), privileged work, or nobody. */
export interface Identity {
  readonly kind: 'user' | 'privileged' | 'anonymous';
  /** The user's UUID (lower case), `system` or `service:<name>`; null when anonymous. */
  readonly userId: string | null;
}

/** A UUID in its canonical text form (any version, any case): the one check of it in Tether. */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID_PATTERN.test(value);
}

const SERVICE = /^service:[A-Za-z0-9_.-]{1,64}$/;

/** The identity a `SessionContext.userId` names; anything else is refused before a connection is taken. */
export function identityOf(userId: string | null | undefined): Identity {
  if (userId === undefined || userId === null) return { kind: 'anonymous', userId: null };
  if (isUuid(userId)) return { kind: 'user', userId: userId.toLowerCase() };
  if (userId === 'system' || SERVICE.test(userId)) return { kind: 'privileged', userId };
  throw new IsolationViolationError(
    `userId must be a UUID, "system" or "service:<name>"; got ${JSON.stringify(userId).slice(0, 80)}`,
  );
}

/** The database roles sessions switch to: users' work runs as `app`, privileged work as `system`. */
export interface SessionRoles {
  readonly app: string;
  readonly system: string;
}

/** A role name as the factory accepts it: a plain identifier, so it can go into connection options unquoted. */
const ROLE_NAME = /^[a-z_][a-z0-9_$]{0,62}$/;

/** `name`, if it is a plain role name; throws `TypeError` otherwise (a configuration mistake, found at start). */
export function roleName(name: string): string {
  if (!ROLE_NAME.test(name))
    throw new TypeError(`role names must be plain lower-case identifiers; got ${JSON.stringify(name)}`);
  return name;
}

/** Role, user and request id for the transaction only (`SET LOCAL`), in one statement. */
const CONTEXT_SQL =
  "SELECT set_config('role', $1, true), set_config('app.user_id', $2, true), set_config('application_name', $3, true)";
const CONTEXT_WITH_TIMEOUT_SQL = `${CONTEXT_SQL}, set_config('statement_timeout', $4, true)`;
/** Behind a transaction-mode pooler: both timeouts as well, which elsewhere come with the connection. */
const CONTEXT_WITH_TIMEOUTS_SQL =
  `${CONTEXT_WITH_TIMEOUT_SQL}, ` + "set_config('idle_in_transaction_session_timeout', $5, true)";

/**
 * What a connection's startup parameters set everywhere else (the timeouts): behind a transaction-mode pooler,
 * which refuses startup parameters and shares server connections, each transaction sets them for itself.
 */
export interface TransactionDefaults {
  readonly statementTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
}

/**
 * The statement that sets a transactional session's context: its role, its user for Row-Level Security, its
 * request id in `application_name` (so `pg_stat_activity` names the request), and an own statement timeout if
 * asked. A prepared statement with bind values: nothing the caller gives is spliced into SQL. With
 * `transactionDefaults` (behind a transaction-mode pooler), the timeouts too, and unnamed: nothing prepared
 * outlives the transaction.
 */
export function contextStatement(
  identity: Identity,
  roles: SessionRoles,
  applicationName: string,
  requestId: string,
  statementTimeoutMs: number | undefined,
  transactionDefaults?: TransactionDefaults,
): PreludeStatement {
  const values: unknown[] = [
    identity.kind === 'privileged' ? roles.system : roles.app,
    identity.kind === 'user' ? identity.userId : '',
    `${applicationName}:${requestId}`.slice(0, 63),
  ];
  const milliseconds = (ms: number): string => String(Math.max(0, Math.floor(ms)));
  if (transactionDefaults !== undefined) {
    values.push(
      milliseconds(statementTimeoutMs ?? transactionDefaults.statementTimeoutMs),
      milliseconds(transactionDefaults.idleInTransactionTimeoutMs),
    );
    return { name: undefined, text: CONTEXT_WITH_TIMEOUTS_SQL, values };
  }
  if (statementTimeoutMs === undefined) return { name: 'tether:context', text: CONTEXT_SQL, values };
  values.push(milliseconds(statementTimeoutMs));
  return { name: 'tether:context_timeout', text: CONTEXT_WITH_TIMEOUT_SQL, values };
}
