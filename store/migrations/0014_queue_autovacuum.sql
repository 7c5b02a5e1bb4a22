-- The queue tables are vacuumed and analyzed after a fiftieth of their rows changed, not PostgreSQL's
-- default fifth. Every step is updated twice after it is queued (claimed, then finished) and every item
-- once, and the old versions' entries stay in the claim index (steps_claim_idx) until VACUUM removes
-- them: a claim reads the queue's head in index order, so it walks every entry left by the steps
-- claimed before it. After 16,000 items the claim's scan read 83 index pages to find 8 queued steps,
-- 9 after a VACUUM; with the default a table of ten million steps would gather two million such
-- entries between two runs. Analyzing as often keeps the statistics the claim's and completion's
-- plans are made from close to the queue as it is.
ALTER TABLE "steps" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);--> statement-breakpoint
ALTER TABLE "work_items" SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 1000);
