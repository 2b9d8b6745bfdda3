-- Roles are cluster-wide: create them once, tolerate a concurrent creator.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tether_app') THEN
    CREATE ROLE tether_app NOLOGIN NOBYPASSRLS;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tether_system') THEN
    CREATE ROLE tether_system NOLOGIN BYPASSRLS;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

-- The connecting login switches to these roles per session (SET LOCAL ROLE); a non-superuser needs membership.
GRANT tether_app TO CURRENT_USER;
GRANT tether_system TO CURRENT_USER;

-- The user a session acts for; NULL (no rows) when unset. '' after a SET LOCAL ended also means unset.
CREATE FUNCTION tether_current_user_id() RETURNS uuid
  LANGUAGE sql STABLE PARALLEL SAFE
  AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 320),
  password_hash text NOT NULL,
  role          text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE auth_sessions (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id            uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  refresh_token_hash text NOT NULL,
  created_at         timestamptz NOT NULL DEFAULT now(),
  last_seen_at       timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  revoked_at         timestamptz,
  revoked_reason     text,
  user_agent         text,
  websocket_ids      text[] NOT NULL DEFAULT '{}'
);
CREATE INDEX auth_sessions_user_live ON auth_sessions (user_id, created_at) WHERE revoked_at IS NULL;
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

CREATE TABLE threads (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id    uuid NOT NULL DEFAULT tether_current_user_id() REFERENCES users (id) ON DELETE CASCADE,
  title      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX threads_user_created ON threads (user_id, created_at);

CREATE TABLE messages (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  thread_id         uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
  user_id           uuid NOT NULL DEFAULT tether_current_user_id() REFERENCES users (id) ON DELETE CASCADE,
  content           text NOT NULL,
  client_message_id text,
  created_at        timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX messages_thread_created ON messages (thread_id, created_at, id);
-- a client retrying a write after a lost reply gets its first row back, never a duplicate
CREATE UNIQUE INDEX messages_client_id ON messages (user_id, client_message_id) WHERE client_message_id IS NOT NULL;

-- Row-Level Security on all user data, forced so that the tables' owner obeys it too.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY users_self ON users USING (id = tether_current_user_id());

ALTER TABLE auth_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE auth_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY auth_sessions_owner ON auth_sessions
  USING (user_id = tether_current_user_id()) WITH CHECK (user_id = tether_current_user_id());

ALTER TABLE threads ENABLE ROW LEVEL SECURITY;
ALTER TABLE threads FORCE ROW LEVEL SECURITY;
CREATE POLICY threads_owner ON threads
  USING (user_id = tether_current_user_id()) WITH CHECK (user_id = tether_current_user_id());

ALTER TABLE messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE messages FORCE ROW LEVEL SECURITY;
CREATE POLICY messages_owner ON messages
  USING (user_id = tether_current_user_id())
  WITH CHECK (user_id = tether_current_user_id() AND EXISTS (SELECT 1 FROM threads t WHERE t.id = thread_id));

GRANT USAGE ON SCHEMA public TO tether_app, tether_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON users, auth_sessions, threads, messages TO tether_app, tether_system;
GRANT EXECUTE ON FUNCTION tether_current_user_id() TO tether_app, tether_system;

-- Every committed message is announced to every server instance (LISTEN tether_messages).
-- NOTIFY payloads stop at 8000 bytes: large contents are left out and fetched by id.
CREATE FUNCTION tether_notify_message() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  payload jsonb := jsonb_build_object('id', NEW.id, 'threadId', NEW.thread_id, 'userId', NEW.user_id,
                                      'createdAt', NEW.created_at);
BEGIN
  IF octet_length(NEW.content) <= 6000 THEN
    payload := payload || jsonb_build_object('content', NEW.content);
  END IF;
  PERFORM pg_notify('tether_messages', payload::text);
  RETURN NULL;
END $$;
CREATE TRIGGER messages_notify AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION tether_notify_message();
