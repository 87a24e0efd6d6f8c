ALTER TABLE "sim_tasks" ADD COLUMN "stopped_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sim_tasks" ADD COLUMN "stop_reason" text;