-- The claim index in the claim's order: (capability, rank_at, id). With (capability, rank_at) alone
-- the claim's ORDER BY rank_at, id could not be read from the index, so every claim sorted its
-- capability's whole queue (2 ms with 1,500 queued steps, growing with the queue). Built without
-- CONCURRENTLY (migrations run in a transaction): on a large steps table, expect writes to wait.
DROP INDEX "steps_claim_idx";--> statement-breakpoint
CREATE INDEX "steps_claim_idx" ON "steps" USING btree ("capability","rank_at","id") WHERE "steps"."state" = 'queued' and "steps"."routing" = 'routable';--> statement-breakpoint
-- flowmesh_claim (0008) returning each claimed step with its work item, so a claim is one round trip
-- instead of two. The item is read by the same statement that claims: that statement's snapshot saw
-- the step, so it sees the item written in the step's transaction (a read by the caller's statement,
-- whose snapshot is older than the function's, could miss it). Columns are prefixed s_ (step) and w_
-- (item) so they never shadow the tables' columns inside the function. flowmesh_claim stays for
-- instances of the previous release during a rolling upgrade.
CREATE OR REPLACE FUNCTION flowmesh_claim_items(
  p_node text, p_caps text[], p_secs int[], p_capacity int, p_max int, p_now timestamptz
) RETURNS TABLE (
  s_id uuid, s_work_item_id uuid, s_seq integer, s_capability text, s_state text, s_node_id text,
  s_attempt integer, s_priority integer, s_lease_token uuid, s_lease_expires_at timestamptz,
  s_queued_at timestamptz, s_claimed_at timestamptz, s_finished_at timestamptz, s_result jsonb,
  s_error jsonb, s_eligible_nodes text[], s_exclusions jsonb, s_routing text, s_tier integer,
  s_rank_at timestamptz,
  w_id uuid, w_kind text, w_title text, w_state text, w_priority integer, w_attributes jsonb,
  w_payload jsonb, w_result jsonb, w_due_at timestamptz, w_traceparent text, w_created_by text,
  w_created_at timestamptz, w_updated_at timestamptz
) LANGUAGE plpgsql VOLATILE
-- Plan once per session: the plans do not depend on the arguments, and planning each call anew (the
-- default for the first calls and whenever a custom plan looks cheaper) cost as much as running it.
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
DECLARE
  v_free int;
BEGIN
  PERFORM pg_advisory_xact_lock(1718447716, hashtext(p_node));
  SELECT p_capacity - count(*)::int INTO v_free FROM steps WHERE node_id = p_node AND state = 'claimed';
  IF v_free <= 0 THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH picked AS (
    SELECT p.id, p.lease_secs, p.rank_at FROM unnest(p_caps, p_secs) AS c(cap, lease_secs)
    CROSS JOIN LATERAL (
      SELECT s.id, s.rank_at, c.lease_secs FROM steps s
      WHERE s.state = 'queued' AND s.routing = 'routable' AND s.capability = c.cap
        AND s.eligible_nodes @> ARRAY[p_node]
      ORDER BY s.rank_at, s.id
      LIMIT p_max
      FOR UPDATE OF s SKIP LOCKED
    ) p
    ORDER BY p.rank_at, p.id
    LIMIT least(p_max, v_free)
  ), claimed AS (
    UPDATE steps s SET state = 'claimed', node_id = p_node, lease_token = gen_random_uuid(),
      lease_expires_at = p_now + picked.lease_secs * interval '1 second', claimed_at = p_now
    FROM picked WHERE s.id = picked.id
    RETURNING s.*
  ), ev AS (
    INSERT INTO events (work_item_id, step_id, type, data, at)
    SELECT c.work_item_id, c.id, 'step.claimed',
      jsonb_build_object('nodeId', c.node_id, 'attempt', c.attempt, 'leaseExpiresAt', c.lease_expires_at),
      p_now
    FROM claimed c
  )
  SELECT c.id, c.work_item_id, c.seq, c.capability, c.state, c.node_id, c.attempt, c.priority,
    c.lease_token, c.lease_expires_at, c.queued_at, c.claimed_at, c.finished_at, c.result, c.error,
    c.eligible_nodes, c.exclusions, c.routing, c.tier, c.rank_at,
    w.id, w.kind, w.title, w.state, w.priority, w.attributes, w.payload, w.result, w.due_at,
    w.traceparent, w.created_by, w.created_at, w.updated_at
  FROM claimed c LEFT JOIN work_items w ON w.id = c.work_item_id
  ORDER BY c.rank_at, c.id;
END
$$;
--> statement-breakpoint
-- A completion in one call (capabilities/completion.ts decides, this writes): finish the step if the
-- caller still holds its live lease, close the item when this was its last step, and log the events
-- and the policy decisions in the same transaction. With p_unread (the caller decided from its claim
-- without reading the item) the item must also have no policy requirement and no value-stream
-- binding. Returns nothing when nothing changed (the lease is gone, or the item needs the locked
-- path); otherwise the item's steps after the change (all of them with p_unread, else this one).
-- Plans are generic and never sequential scans: the queue tables' statistics are often wrong (empty
-- when last analyzed, thousands of rows a minute later), and a plan made then would stay for the
-- session.
CREATE OR REPLACE FUNCTION flowmesh_complete(
  p_item uuid, p_step uuid, p_token uuid, p_now timestamptz, p_result jsonb, p_finish boolean,
  p_item_result jsonb, p_events jsonb, p_decisions jsonb, p_unread boolean
) RETURNS SETOF steps LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  UPDATE steps SET state = 'completed', finished_at = p_now, lease_token = NULL, lease_expires_at = NULL,
    result = p_result
  WHERE id = p_step AND work_item_id = p_item AND state = 'claimed' AND lease_token = p_token
    AND lease_expires_at > p_now
    AND (NOT p_unread OR (
      NOT EXISTS (SELECT 1 FROM policy_requirements r WHERE r.work_item_id = p_item)
      AND NOT EXISTS (SELECT 1 FROM stream_steps b WHERE b.work_item_id = p_item)));
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF p_finish THEN
    UPDATE work_items SET state = 'done', updated_at = p_now, result = coalesce(p_item_result, result)
    WHERE id = p_item AND state = 'open';
  END IF;
  INSERT INTO events (work_item_id, step_id, type, data, at)
  SELECT (x.v->>'work_item_id')::uuid, (x.v->>'step_id')::uuid, x.v->>'type', x.v->'data',
    (x.v->>'at')::timestamptz
  FROM jsonb_array_elements(p_events) WITH ORDINALITY AS x(v, n)
  ORDER BY x.n;
  INSERT INTO decisions (id, work_item_id, step_id, hook, outcome, policy_version, rule_ids, details, at)
  SELECT (x.v->>'id')::uuid, (x.v->>'work_item_id')::uuid, (x.v->>'step_id')::uuid, x.v->>'hook',
    x.v->>'outcome', x.v->>'policy_version', ARRAY(SELECT jsonb_array_elements_text(x.v->'rule_ids')),
    x.v->'details', (x.v->>'at')::timestamptz
  FROM jsonb_array_elements(p_decisions) AS x(v);
  IF p_unread THEN
    RETURN QUERY SELECT * FROM steps WHERE work_item_id = p_item ORDER BY seq;
  ELSE
    RETURN QUERY SELECT * FROM steps WHERE id = p_step;
  END IF;
END
$$;
