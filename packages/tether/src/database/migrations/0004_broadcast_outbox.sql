-- The transactional outbox: what instances must tell each other is written here by triggers, in the same
-- transaction as the change itself, and published after commit by each instance's outbox relay (which deletes
-- what it published, in one transaction with the publishing). Replaces the NOTIFYs sent from those triggers:
-- a NOTIFYing commit takes a cluster-wide lock, so message inserts no longer serialise on it; and an event
-- survives a crash between commit and publish, or a broker outage. Event shapes: broadcast/events.ts.

CREATE TABLE broadcast_outbox (
  seq   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event jsonb NOT NULL
);
-- Only the table's owner (the relay's connection, the triggers below) touches it; the application role cannot.
REVOKE ALL ON broadcast_outbox FROM PUBLIC;

DROP TRIGGER messages_notify ON messages;
DROP FUNCTION tether_notify_message();
-- A large content is left out (NOTIFY stops at 8000 bytes); receivers read it by id.
CREATE FUNCTION tether_outbox_message() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  event jsonb := jsonb_build_object('kind', 'message', 'id', NEW.id, 'threadId', NEW.thread_id, 'userId', NEW.user_id,
                                    'createdAt', NEW.created_at);
BEGIN
  IF octet_length(NEW.content) <= 6000 THEN
    event := event || jsonb_build_object('content', NEW.content);
  END IF;
  INSERT INTO broadcast_outbox (event) VALUES (event);
  RETURN NULL;
END $$;
CREATE TRIGGER messages_outbox AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION tether_outbox_message();

DROP TRIGGER auth_sessions_revoked ON auth_sessions;
DROP TRIGGER auth_sessions_deleted ON auth_sessions;
DROP FUNCTION tether_notify_session_revoked();
-- Every revoked or deleted login (the sweep deletes expired ones, hence `expired`).
CREATE FUNCTION tether_outbox_login_revoked() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    IF OLD.revoked_at IS NULL THEN
      INSERT INTO broadcast_outbox (event) VALUES (jsonb_build_object('kind', 'login.revoked', 'id', gen_random_uuid(),
        'sid', OLD.id, 'userId', OLD.user_id, 'reason', 'expired'));
    END IF;
    RETURN NULL;
  END IF;
  INSERT INTO broadcast_outbox (event) VALUES (jsonb_build_object('kind', 'login.revoked', 'id', gen_random_uuid(),
    'sid', NEW.id, 'userId', NEW.user_id, 'reason', coalesce(NEW.revoked_reason, 'revoked')));
  RETURN NULL;
END $$;
CREATE TRIGGER auth_sessions_revoked AFTER UPDATE OF revoked_at ON auth_sessions
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION tether_outbox_login_revoked();
CREATE TRIGGER auth_sessions_deleted AFTER DELETE ON auth_sessions
  FOR EACH ROW EXECUTE FUNCTION tether_outbox_login_revoked();

DROP TRIGGER thread_members_removed ON thread_members;
DROP FUNCTION tether_notify_member_removed();
CREATE FUNCTION tether_outbox_member_removed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO broadcast_outbox (event) VALUES (jsonb_build_object('kind', 'member.removed', 'id', gen_random_uuid(),
    'threadId', OLD.thread_id, 'userId', OLD.user_id));
  RETURN NULL;
END $$;
CREATE TRIGGER thread_members_removed AFTER DELETE ON thread_members
  FOR EACH ROW EXECUTE FUNCTION tether_outbox_member_removed();
