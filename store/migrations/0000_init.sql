CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"node_id" text,
	"hash" text NOT NULL,
	"prefix" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_hash_unique" UNIQUE("hash")
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"scope" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"state" text NOT NULL,
	"response_status" integer,
	"response_body" jsonb,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_scope_key_pk" PRIMARY KEY("scope","key")
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "events_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"work_item_id" uuid NOT NULL,
	"step_id" uuid,
	"type" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "steps" (
	"id" uuid PRIMARY KEY NOT NULL,
	"work_item_id" uuid NOT NULL,
	"seq" integer NOT NULL,
	"capability" text NOT NULL,
	"state" text NOT NULL,
	"node_id" text,
	"attempt" integer DEFAULT 1 NOT NULL,
	"priority" integer NOT NULL,
	"lease_token" uuid,
	"lease_expires_at" timestamp with time zone,
	"queued_at" timestamp with time zone NOT NULL,
	"claimed_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"result" jsonb,
	"error" jsonb
);
--> statement-breakpoint
CREATE TABLE "work_items" (
	"id" uuid PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"title" text,
	"state" text NOT NULL,
	"priority" integer NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"payload" jsonb,
	"result" jsonb,
	"due_at" timestamp with time zone,
	"traceparent" text NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "steps" ADD CONSTRAINT "steps_work_item_id_work_items_id_fk" FOREIGN KEY ("work_item_id") REFERENCES "public"."work_items"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_keys_role_idx" ON "api_keys" USING btree ("role");--> statement-breakpoint
CREATE INDEX "idempotency_keys_expires_idx" ON "idempotency_keys" USING btree ("expires_at");--> statement-breakpoint
CREATE INDEX "events_work_item_idx" ON "events" USING btree ("work_item_id","id");--> statement-breakpoint
CREATE INDEX "steps_work_item_idx" ON "steps" USING btree ("work_item_id","seq");--> statement-breakpoint
CREATE INDEX "steps_queue_idx" ON "steps" USING btree ("capability","priority" DESC NULLS LAST,"queued_at") WHERE "steps"."state" = 'queued';--> statement-breakpoint
CREATE INDEX "work_items_state_id_idx" ON "work_items" USING btree ("state","id");--> statement-breakpoint
CREATE INDEX "work_items_kind_id_idx" ON "work_items" USING btree ("kind","id");--> statement-breakpoint
CREATE INDEX "work_items_created_by_id_idx" ON "work_items" USING btree ("created_by","id");