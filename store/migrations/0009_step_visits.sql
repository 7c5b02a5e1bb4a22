CREATE TABLE "span_items" (
	"work_item_id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"end_state" text,
	"end_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "step_visits" (
	"work_item_id" uuid NOT NULL,
	"step_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"capability" text,
	"first_at" timestamp with time zone,
	"wait_ms" double precision DEFAULT 0 NOT NULL,
	"work_ms" double precision DEFAULT 0 NOT NULL,
	"handed_off" boolean DEFAULT false NOT NULL,
	"workers" text[] DEFAULT '{}'::text[] NOT NULL,
	"worker_kinds" text[] DEFAULT '{}'::text[] NOT NULL,
	"prev_capability" text,
	"prev_handed_off" boolean DEFAULT false NOT NULL,
	"seen_before" boolean DEFAULT false NOT NULL,
	"last_visit" boolean DEFAULT true NOT NULL,
	"agent_spans" integer DEFAULT 0 NOT NULL,
	"agent_work_ms" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "step_visits_work_item_id_step_id_pk" PRIMARY KEY("work_item_id","step_id")
);
--> statement-breakpoint
CREATE INDEX "span_items_kind_start_idx" ON "span_items" USING btree ("kind","start_at");--> statement-breakpoint
-- Backfill from the spans already stored: the same aggregation store/span-writes.ts keeps up to date.
WITH a AS (
  SELECT work_item_id, step_id, min(kind) AS kind,
    min(capability) FILTER (WHERE source = 'hop') AS capability,
    min(start_at) FILTER (WHERE source = 'hop') AS first_at,
    coalesce(sum(duration_ms) FILTER (WHERE hop = 'wait'), 0) AS wait_ms,
    coalesce(sum(duration_ms) FILTER (WHERE hop IN ('work', 'approval')), 0) AS work_ms,
    coalesce(bool_or(hop = 'handoff'), false) AS handed_off,
    coalesce(array_agg(node_id) FILTER (WHERE hop IN ('work', 'approval') AND node_id IS NOT NULL), '{}') AS workers,
    coalesce(array_agg(coalesce(node_kind, '')) FILTER (WHERE hop IN ('work', 'approval') AND node_id IS NOT NULL), '{}') AS worker_kinds,
    count(*) FILTER (WHERE source = 'agent')::int AS agent_spans
  FROM "spans"
  WHERE work_item_id IS NOT NULL AND step_id IS NOT NULL AND kind IS NOT NULL AND source IN ('hop', 'agent')
  GROUP BY work_item_id, step_id
)
INSERT INTO "step_visits" ("work_item_id", "step_id", "kind", "capability", "first_at", "wait_ms", "work_ms",
  "handed_off", "workers", "worker_kinds", "agent_spans", "prev_capability", "prev_handed_off", "seen_before",
  "last_visit")
SELECT work_item_id, step_id, kind, capability, first_at, wait_ms, work_ms, handed_off, workers, worker_kinds,
  agent_spans, prev_capability, prev_handed_off, seen_before, last_visit
FROM (
  SELECT a.*,
    lag(capability) OVER w AS prev_capability,
    coalesce(lag(handed_off) OVER w, false) AS prev_handed_off,
    coalesce(capability = any(array_agg(capability) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)), false) AS seen_before,
    lead(step_id) OVER w IS NULL AS last_visit
  FROM a WHERE capability IS NOT NULL
  WINDOW w AS (PARTITION BY work_item_id ORDER BY first_at, step_id)
  UNION ALL
  SELECT a.*, NULL, false, false, true FROM a WHERE capability IS NULL
) p;
--> statement-breakpoint
INSERT INTO "span_items" ("work_item_id", "kind", "start_at", "end_state", "end_at")
SELECT work_item_id, min(kind), min(start_at),
  max(outcome) FILTER (WHERE source = 'item'),
  max(end_at) FILTER (WHERE source = 'item')
FROM "spans"
WHERE work_item_id IS NOT NULL AND kind IS NOT NULL AND source IN ('hop', 'item')
GROUP BY work_item_id;
--> statement-breakpoint
UPDATE "step_visits" v SET agent_work_ms = coalesce((
  SELECT sum(a.duration_ms) FROM "spans" a
  WHERE a.work_item_id = v.work_item_id AND a.step_id = v.step_id AND a.source = 'agent'
    AND NOT EXISTS (SELECT 1 FROM "spans" p
      WHERE p.trace_id = a.trace_id AND p.span_id = a.parent_span_id AND p.source = 'agent')
    AND NOT EXISTS (SELECT 1 FROM "spans" w
      WHERE w.work_item_id = a.work_item_id AND w.step_id = a.step_id AND w.source = 'hop'
        AND w.hop IN ('work', 'approval') AND w.start_at <= a.start_at AND w.end_at >= a.end_at)
), 0)
WHERE v.agent_spans > 0;
