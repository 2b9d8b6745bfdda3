-- Login sessions (UserSessionManager): refresh-token rotation with reuse detection, and revocations announced
-- to every server instance so that their WebSockets close at once.

-- Hashes of refresh tokens this session has rotated away from: presenting one again is reuse (a stolen token).
ALTER TABLE auth_sessions ADD COLUMN rotated_refresh_token_hashes text[] NOT NULL DEFAULT '{}';
ALTER TABLE auth_sessions ADD COLUMN refreshed_at timestamptz;
CREATE INDEX auth_sessions_last_seen ON auth_sessions (last_seen_at) WHERE revoked_at IS NULL;

-- Every revoked or deleted login session is announced (LISTEN tether_session_revoked): {sid, userId, reason}.
-- Rows are deleted by the sweep once expired (or with their user), hence the reason `expired`.
CREATE FUNCTION tether_notify_session_revoked() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.revoked_at IS NULL THEN
      PERFORM pg_notify('tether_session_revoked',
        jsonb_build_object('sid', OLD.id, 'userId', OLD.user_id, 'reason', 'expired')::text);
    END IF;
    RETURN NULL;
  END IF;
  PERFORM pg_notify('tether_session_revoked',
    jsonb_build_object('sid', NEW.id, 'userId', NEW.user_id, 'reason', coalesce(NEW.revoked_reason, 'revoked'))::text);
  RETURN NULL;
END $$;
CREATE TRIGGER auth_sessions_revoked AFTER UPDATE OF revoked_at ON auth_sessions
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION tether_notify_session_revoked();
CREATE TRIGGER auth_sessions_deleted AFTER DELETE ON auth_sessions
  FOR EACH ROW EXECUTE FUNCTION tether_notify_session_revoked();
