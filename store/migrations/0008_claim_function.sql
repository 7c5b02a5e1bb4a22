-- A claim in one round trip: serialize the node's claims (advisory lock), count what it holds (a
-- fresh snapshot after the lock, as each statement of a volatile function takes one), then take the
-- best eligible steps with SKIP LOCKED within the free capacity and log step.claimed. Called as a
-- single autocommit statement, so the lock is held until the claim commits.
CREATE OR REPLACE FUNCTION flowmesh_claim(
  p_node text, p_caps text[], p_secs int[], p_capacity int, p_max int, p_now timestamptz
) RETURNS SETOF steps LANGUAGE plpgsql VOLATILE AS $$
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
  SELECT * FROM claimed;
END
$$;
