ALTER TABLE "sim_change_sets" ADD COLUMN "change_set_type" text DEFAULT 'IMPORT' NOT NULL;--> statement-breakpoint
ALTER TABLE "sim_change_sets" ADD COLUMN "changes" jsonb;--> statement-breakpoint
ALTER TABLE "sim_change_sets" ADD COLUMN "base_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sim_tasks" ADD COLUMN "overrides" jsonb;