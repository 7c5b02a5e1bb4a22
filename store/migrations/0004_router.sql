CREATE TABLE "escalations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"severity" text NOT NULL,
	"work_item_id" uuid NOT NULL,
	"step_id" uuid,
	"reason" text NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"owner" text,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"resolution" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	"resolved_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "capabilities" (
	"id" text PRIMARY KEY NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"input_schema" jsonb,
	"max_attempts" integer NOT NULL,
	"lease_seconds" integer NOT NULL,
	"fallbacks" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "node_health" (
	"node_id" text PRIMARY KEY NOT NULL,
	"window_started_at" timestamp with time zone NOT NULL,
	"successes" integer DEFAULT 0 NOT NULL,
	"failures" integer DEFAULT 0 NOT NULL,
	"tripped_until" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "nodes" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"kind" text NOT NULL,
	"capabilities" jsonb NOT NULL,
	"capacity" integer NOT NULL,
	"mode" text NOT NULL,
	"availability" text NOT NULL,
	"endpoint" text,
	"mcp" jsonb,
	"timeout_seconds" integer NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
DROP INDEX "steps_queue_idx";--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "eligible_nodes" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "exclusions" jsonb DEFAULT '[]'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "routing" text DEFAULT 'routable' NOT NULL;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "tier" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "steps" ADD COLUMN "rank_at" timestamp with time zone;--> statement-breakpoint
UPDATE "steps" SET "rank_at" = "queued_at" - "priority" * interval '60 seconds';--> statement-breakpoint
ALTER TABLE "steps" ALTER COLUMN "rank_at" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "escalations_open_step_kind_uq" ON "escalations" USING btree ("step_id","kind") WHERE "escalations"."state" = 'open';--> statement-breakpoint
CREATE INDEX "escalations_state_created_idx" ON "escalations" USING btree ("state","created_at");--> statement-breakpoint
CREATE INDEX "escalations_work_item_idx" ON "escalations" USING btree ("work_item_id");--> statement-breakpoint
CREATE INDEX "steps_claim_idx" ON "steps" USING btree ("capability","rank_at") WHERE "steps"."state" = 'queued' and "steps"."routing" = 'routable';--> statement-breakpoint
CREATE INDEX "steps_held_idx" ON "steps" USING btree ("node_id") WHERE "steps"."state" = 'claimed';--> statement-breakpoint
CREATE INDEX "steps_lease_idx" ON "steps" USING btree ("lease_expires_at") WHERE "steps"."state" = 'claimed';