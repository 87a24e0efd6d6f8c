CREATE TABLE "listener_rule_priorities" (
	"listener_arn" text NOT NULL,
	"priority" integer NOT NULL,
	"stack_name" text NOT NULL,
	"parameter" text NOT NULL,
	"deployment_id" text NOT NULL,
	"allocated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "listener_rule_priorities_listener_arn_priority_pk" PRIMARY KEY("listener_arn","priority")
);
--> statement-breakpoint
ALTER TABLE "sim_tasks" ADD COLUMN "stopped_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sim_tasks" ADD COLUMN "stop_reason" text;