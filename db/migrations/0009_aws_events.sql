-- AWS events handled (dropped when delivered again), and the few deployments an event may concern found by their stack.
CREATE TABLE "aws_events" (
	"id" text PRIMARY KEY NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "aws_events_received_idx" ON "aws_events" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "deployments_stack_active_idx" ON "deployments" USING btree ("stack_id") WHERE status in ('WAITING', 'RUNNING');