CREATE TABLE "decisions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"work_item_id" uuid,
	"step_id" uuid,
	"hook" text NOT NULL,
	"outcome" text NOT NULL,
	"policy_version" text NOT NULL,
	"rule_ids" text[] DEFAULT '{}'::text[] NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_requirements" (
	"step_id" uuid PRIMARY KEY NOT NULL,
	"work_item_id" uuid NOT NULL,
	"rule_id" text NOT NULL,
	"capability" text NOT NULL,
	"origin_step_id" uuid NOT NULL,
	"policy_version" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "decisions_work_item_idx" ON "decisions" USING btree ("work_item_id","at");--> statement-breakpoint
CREATE INDEX "policy_requirements_work_item_idx" ON "policy_requirements" USING btree ("work_item_id");