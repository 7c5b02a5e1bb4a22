CREATE TABLE "spans" (
	"trace_id" text NOT NULL,
	"span_id" text NOT NULL,
	"parent_span_id" text,
	"name" text NOT NULL,
	"source" text NOT NULL,
	"hop" text,
	"work_item_id" uuid,
	"kind" text,
	"step_id" uuid,
	"capability" text,
	"node_id" text,
	"node_kind" text,
	"attempt" integer,
	"outcome" text,
	"start_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"duration_ms" double precision NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	CONSTRAINT "spans_trace_id_span_id_pk" PRIMARY KEY("trace_id","span_id")
);
--> statement-breakpoint
CREATE INDEX "spans_kind_start_idx" ON "spans" USING btree ("kind","start_at");--> statement-breakpoint
CREATE INDEX "spans_work_item_idx" ON "spans" USING btree ("work_item_id","start_at");--> statement-breakpoint
CREATE INDEX "spans_end_idx" ON "spans" USING btree ("end_at");