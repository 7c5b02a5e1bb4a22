ALTER TABLE "steps" ADD COLUMN "claim_slot" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- flowmesh_claim_items (0010) with claim slots. A claim held the node's one advisory lock until it
-- committed, so every claim for a node waited for the one before it: a busy agent node with many
-- workers (or many instances) claimed one step per commit, whatever its capacity. A node's capacity
-- is now split into slots (1 below a capacity of 256, up to 8 from 1,024), each with its own lock and
-- its share of the capacity, counted over the steps claimed in that slot: the sum never passes the
-- capacity, and up to 8 claims for one node run at once. Slot 0 is the lock of 0010, so a node with
-- one slot is claimed for exactly as before.
-- A slot's share of the capacity: the capacity split evenly, the first slots taking the remainder.
CREATE OR REPLACE FUNCTION flowmesh_slot_budget(p_capacity int, p_slots int, p_slot int) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
  SELECT p_capacity / p_slots + (CASE WHEN p_slot < p_capacity % p_slots THEN 1 ELSE 0 END)
$$;
--> statement-breakpoint
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
  v_key int := hashtext(p_node);
  -- One slot below a capacity of 256, so small nodes claim exactly as before; at most 8 from 1,024 on.
  v_slots int := greatest(1, least(8, p_capacity / 128));
  v_start int;
  v_slot int := -1;
  v_free int := 0;
  v_held int[];
  v_busy int[] := '{}';
  v_holding boolean := false;
  v_k int;
BEGIN
  IF v_slots = 1 THEN
    PERFORM pg_advisory_xact_lock(1718447716, v_key);
    SELECT p_capacity - count(*)::int INTO v_free FROM steps WHERE node_id = p_node AND state = 'claimed';
    v_slot := 0;
  ELSE
    -- What each slot holds as committed so far (claims in flight only add to it): slots with room are
    -- tried without waiting, from a random one so that claimers spread; under its lock a slot is
    -- counted again before it is claimed in.
    SELECT array_agg(coalesce(h.n, 0) ORDER BY g.k) INTO v_held
    FROM generate_series(0, v_slots - 1) g(k)
    LEFT JOIN (SELECT claim_slot, count(*)::int AS n FROM steps WHERE node_id = p_node AND state = 'claimed'
      GROUP BY claim_slot) h ON h.claim_slot = g.k;
    v_start := floor(random() * v_slots)::int;
    FOR i IN 0 .. v_slots - 1 LOOP
      v_k := (v_start + i) % v_slots;
      CONTINUE WHEN flowmesh_slot_budget(p_capacity, v_slots, v_k) - v_held[v_k + 1] <= 0;
      IF pg_try_advisory_xact_lock(1718447716 + v_k, v_key) THEN
        SELECT flowmesh_slot_budget(p_capacity, v_slots, v_k) - count(*)::int INTO v_free
        FROM steps WHERE node_id = p_node AND state = 'claimed' AND claim_slot = v_k;
        IF v_free > 0 THEN
          v_slot := v_k;
          EXIT;
        END IF;
        v_holding := true;
      ELSE
        v_busy := v_busy || v_k;
      END IF;
    END LOOP;
    -- Every slot with room is being claimed in right now: wait for one, but only while holding no
    -- other slot's lock, so two claims never wait for each other (a claim that does hold one comes
    -- back empty; the claim in the busy slot takes the work).
    IF v_slot < 0 AND NOT v_holding AND cardinality(v_busy) > 0 THEN
      v_k := v_busy[1];
      PERFORM pg_advisory_xact_lock(1718447716 + v_k, v_key);
      SELECT flowmesh_slot_budget(p_capacity, v_slots, v_k) - count(*)::int INTO v_free
      FROM steps WHERE node_id = p_node AND state = 'claimed' AND claim_slot = v_k;
      IF v_free > 0 THEN
        v_slot := v_k;
      END IF;
    END IF;
  END IF;
  IF v_slot < 0 OR v_free <= 0 THEN
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
      lease_expires_at = p_now + picked.lease_secs * interval '1 second', claimed_at = p_now,
      claim_slot = v_slot
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
