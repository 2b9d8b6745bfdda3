-- Shared threads: a thread's members read, post and subscribe; Row-Level Security decides through membership.
-- The creator is a member from the start (and cannot be removed: the thread is theirs).

CREATE TABLE thread_members (
  thread_id uuid NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
  user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  added_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (thread_id, user_id)
);
-- the membership key every policy looks up: "which threads is the current user in"
CREATE INDEX thread_members_user ON thread_members (user_id, thread_id);

INSERT INTO thread_members (thread_id, user_id, added_at) SELECT id, user_id, created_at FROM threads;

-- The threads the current user is a member of. SECURITY DEFINER (owned by the BYPASSRLS role) so that
-- thread_members' own policy can use it without recursing into itself. `(SELECT …)` makes the setting an
-- InitPlan: read once per statement, not once per row; in a policy, `IN (SELECT tether_member_thread_ids())`
-- becomes one hashed subplan per statement.
CREATE FUNCTION tether_member_thread_ids() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT thread_id FROM thread_members WHERE user_id = (SELECT nullif(current_setting('app.user_id', true), '')::uuid) $$;
GRANT SELECT ON thread_members TO tether_system;
ALTER FUNCTION tether_member_thread_ids() OWNER TO tether_system;
REVOKE EXECUTE ON FUNCTION tether_member_thread_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tether_member_thread_ids() TO tether_app, tether_system;

-- A new thread's creator becomes its member in the same statement.
CREATE FUNCTION tether_add_thread_creator() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO thread_members (thread_id, user_id, added_at) VALUES (NEW.id, NEW.user_id, NEW.created_at);
  RETURN NULL;
END $$;
GRANT INSERT ON thread_members TO tether_system;
ALTER FUNCTION tether_add_thread_creator() OWNER TO tether_system;
CREATE TRIGGER threads_add_creator AFTER INSERT ON threads FOR EACH ROW EXECUTE FUNCTION tether_add_thread_creator();

-- The user registered under an email, for adding members (users' own policy shows a user only themself).
CREATE FUNCTION tether_user_by_email(address text) RETURNS TABLE (id uuid, email text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT u.id, u.email FROM users u WHERE lower(u.email) = lower(address) $$;
GRANT SELECT ON users TO tether_system;
ALTER FUNCTION tether_user_by_email(text) OWNER TO tether_system;
REVOKE EXECUTE ON FUNCTION tether_user_by_email(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tether_user_by_email(text) TO tether_app, tether_system;

ALTER TABLE thread_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE thread_members FORCE ROW LEVEL SECURITY;
-- members see the membership of their threads, and add to it
CREATE POLICY thread_members_read ON thread_members FOR SELECT
  USING (thread_id IN (SELECT tether_member_thread_ids()));
CREATE POLICY thread_members_add ON thread_members FOR INSERT
  WITH CHECK (thread_id IN (SELECT tether_member_thread_ids()));
-- a member removes themself; the creator removes anyone; nobody removes the creator
CREATE POLICY thread_members_remove ON thread_members FOR DELETE
  USING (thread_id IN (SELECT tether_member_thread_ids())
         AND (user_id = (SELECT tether_current_user_id())
              OR EXISTS (SELECT 1 FROM threads t WHERE t.id = thread_id AND t.user_id = (SELECT tether_current_user_id())))
         AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.id = thread_id AND t.user_id = thread_members.user_id));
GRANT SELECT, INSERT, DELETE ON thread_members TO tether_app;
GRANT DELETE ON thread_members TO tether_system;

-- The member list with emails, for members only: a view owned by the BYPASSRLS role reads users' emails (and
-- nothing else of them), filtered to the caller's threads.
CREATE VIEW thread_member_list WITH (security_barrier) AS
  SELECT m.thread_id, m.user_id, u.email, m.added_at
    FROM thread_members m JOIN users u ON u.id = m.user_id
   WHERE m.thread_id IN (SELECT tether_member_thread_ids());
ALTER VIEW thread_member_list OWNER TO tether_system;
GRANT SELECT ON thread_member_list TO tether_app, tether_system;

-- Threads: the creator and the members see a thread; only its creator makes it.
DROP POLICY threads_owner ON threads;
CREATE POLICY threads_visible ON threads FOR SELECT
  USING (user_id = (SELECT tether_current_user_id()) OR id IN (SELECT tether_member_thread_ids()));
CREATE POLICY threads_create ON threads FOR INSERT WITH CHECK (user_id = (SELECT tether_current_user_id()));
CREATE POLICY threads_change ON threads FOR UPDATE
  USING (user_id = (SELECT tether_current_user_id())) WITH CHECK (user_id = (SELECT tether_current_user_id()));
CREATE POLICY threads_delete ON threads FOR DELETE USING (user_id = (SELECT tether_current_user_id()));

-- Messages: members read a thread's messages and post as themselves; a member edits or deletes only their own.
DROP POLICY messages_owner ON messages;
CREATE POLICY messages_read ON messages FOR SELECT USING (thread_id IN (SELECT tether_member_thread_ids()));
CREATE POLICY messages_post ON messages FOR INSERT
  WITH CHECK (user_id = (SELECT tether_current_user_id()) AND thread_id IN (SELECT tether_member_thread_ids()));
CREATE POLICY messages_change ON messages FOR UPDATE
  USING (user_id = (SELECT tether_current_user_id())) WITH CHECK (user_id = (SELECT tether_current_user_id()));
CREATE POLICY messages_delete ON messages FOR DELETE USING (user_id = (SELECT tether_current_user_id()));

-- A removed member's subscriptions end at once on every instance: the removal is announced.
CREATE FUNCTION tether_notify_member_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tether_member_removed', jsonb_build_object('threadId', OLD.thread_id, 'userId', OLD.user_id)::text);
  RETURN NULL;
END $$;
CREATE TRIGGER thread_members_removed AFTER DELETE ON thread_members
  FOR EACH ROW EXECUTE FUNCTION tether_notify_member_removed();
