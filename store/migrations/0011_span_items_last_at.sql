DROP INDEX "spans_kind_start_idx";--> statement-breakpoint
ALTER TABLE "span_items" ADD COLUMN "last_at" timestamp with time zone;--> statement-breakpoint
-- The kinds seen are listed from span_items: each item's latest hop or item span end, from the spans stored so far.
UPDATE "span_items" AS i SET "last_at" = s.last_at
FROM (
  SELECT work_item_id, max(end_at) AS last_at FROM "spans"
  WHERE source IN ('hop', 'item') AND work_item_id IS NOT NULL
  GROUP BY work_item_id
) s
WHERE s.work_item_id = i.work_item_id;
