-- A batch of completions in one set of statements instead of flowmesh_complete (0010) once per row: the
-- row-per-call function paid executor start-up for five statements per completion, about a quarter of
-- the completion's time. Each input row is as in flowmesh_complete and is answered the same way: a
-- step changes only if it is still claimed under the row's lease token and the lease has not run out
-- (with `unread`, the item also has no policy requirement and follows no value stream); a step named
-- twice in the batch is completed by its first row only; events are logged in the batch's order.
-- Steps and items are found by key through lateral lookups and updated by their row address: the plans
-- are generic and the queue tables' statistics often say they are empty, and a plain join of the
-- batch to steps or work_items was then planned as a walk over every claimed step or open item.
-- Returns, per row that changed (c_n), the completed step and, with `unread`, the item's other steps
-- as the batch found them. flowmesh_complete stays for instances of the previous release.
CREATE OR REPLACE FUNCTION flowmesh_complete_batch(p_rows jsonb)
RETURNS TABLE (c_n integer, c_step steps) LANGUAGE plpgsql VOLATILE
SET plan_cache_mode = force_generic_plan SET enable_seqscan = off AS $$
BEGIN
  RETURN QUERY
  WITH r AS (
    SELECT * FROM jsonb_to_recordset(p_rows) AS x(n int, item uuid, step uuid, token uuid, now timestamptz,
      result jsonb, finish boolean, item_result jsonb, events jsonb, decisions jsonb, unread boolean)
  ), f AS MATERIALIZED (
    SELECT DISTINCT ON (r.step) r.* FROM r ORDER BY r.step, r.n
  ), t AS MATERIALIZED (
    -- Found by id alone, so that only the primary key can serve the lookup; checked after the lock.
    SELECT f.*, x.tid FROM f CROSS JOIN LATERAL (
      SELECT s.ctid AS tid, s.work_item_id, s.state, s.lease_token, s.lease_expires_at FROM steps s
      WHERE s.id = f.step FOR UPDATE OF s
    ) x
    WHERE x.work_item_id = f.item AND x.state = 'claimed' AND x.lease_token = f.token
      AND x.lease_expires_at > f.now
      AND (NOT f.unread OR (
        NOT EXISTS (SELECT 1 FROM policy_requirements q WHERE q.work_item_id = f.item)
        AND NOT EXISTS (SELECT 1 FROM stream_steps b WHERE b.work_item_id = f.item)))
  ), done AS (
    UPDATE steps s SET state = 'completed', finished_at = t.now, lease_token = NULL, lease_expires_at = NULL,
      result = t.result
    FROM t WHERE s.ctid = t.tid
    RETURNING t.n AS d_n, t.item AS d_item, t.step AS d_step, t.finish AS d_finish,
      t.item_result AS d_item_result, t.events AS d_events, t.decisions AS d_decisions, t.unread AS d_unread,
      t.now AS d_now, s AS d_row
  ), wt AS MATERIALIZED (
    SELECT d.d_now, d.d_item_result, y.tid FROM done d CROSS JOIN LATERAL (
      SELECT w.ctid AS tid FROM work_items w WHERE w.id = d.d_item AND w.state = 'open' FOR UPDATE OF w
    ) y
    WHERE d.d_finish
  ), it AS (
    UPDATE work_items w SET state = 'done', updated_at = wt.d_now, result = coalesce(wt.d_item_result, w.result)
    FROM wt WHERE w.ctid = wt.tid
  ), ev AS (
    INSERT INTO events (work_item_id, step_id, type, data, at)
    SELECT (x.v->>'work_item_id')::uuid, (x.v->>'step_id')::uuid, x.v->>'type', x.v->'data',
      (x.v->>'at')::timestamptz
    FROM done d CROSS JOIN LATERAL jsonb_array_elements(d.d_events) WITH ORDINALITY AS x(v, k)
    ORDER BY d.d_n, x.k
  ), de AS (
    INSERT INTO decisions (id, work_item_id, step_id, hook, outcome, policy_version, rule_ids, details, at)
    SELECT (x.v->>'id')::uuid, (x.v->>'work_item_id')::uuid, (x.v->>'step_id')::uuid, x.v->>'hook',
      x.v->>'outcome', x.v->>'policy_version', ARRAY(SELECT jsonb_array_elements_text(x.v->'rule_ids')),
      x.v->'details', (x.v->>'at')::timestamptz
    FROM done d CROSS JOIN LATERAL jsonb_array_elements(d.d_decisions) WITH ORDINALITY AS x(v, k)
    ORDER BY d.d_n, x.k
  )
  SELECT d.d_n, d.d_row FROM done d
  UNION ALL
  SELECT d.d_n, o FROM done d CROSS JOIN LATERAL (
    SELECT o FROM steps o WHERE o.work_item_id = d.d_item AND o.id <> d.d_step
  ) x(o)
  WHERE d.d_unread;
END
$$;
