-- The membership set every thread, message and membership policy reads, as PL/pgSQL. A SECURITY DEFINER function
-- is never inlined, and a non-inlined SQL function parses and plans its query again in every statement that calls
-- it; PL/pgSQL keeps the plan for the connection's life. Same result, same owner and grants (CREATE OR REPLACE keeps
-- them). Measured with pgbench, one pipelined request (BEGIN, context, INSERT … RETURNING, COMMIT) as tether_app on
-- PostgreSQL 15, alternating: 4,700–6,700 → 8,000–10,100 transactions per second (bench/README.md).
CREATE OR REPLACE FUNCTION tether_member_thread_ids() RETURNS SETOF uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
BEGIN
  RETURN QUERY SELECT m.thread_id FROM thread_members m
                WHERE m.user_id = nullif(current_setting('app.user_id', true), '')::uuid;
END
$$;
