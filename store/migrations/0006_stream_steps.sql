CREATE TABLE "stream_steps" (
	"work_item_id" uuid NOT NULL,
	"step_key" text NOT NULL,
	"step_id" uuid NOT NULL,
	CONSTRAINT "stream_steps_work_item_id_step_key_pk" PRIMARY KEY("work_item_id","step_key")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "stream_steps_step_idx" ON "stream_steps" USING btree ("step_id");