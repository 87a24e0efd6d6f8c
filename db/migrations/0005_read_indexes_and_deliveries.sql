-- Reads stay fast as history grows: list pages of deployments read a small generated summary
-- instead of the whole state, and each list filter has an index ending in the list's sort key.
-- github_deliveries: push deliveries stored before the webhook receiver answers GitHub.
CREATE TABLE "github_deliveries" (
	"delivery_id" text PRIMARY KEY NOT NULL,
	"repo_key" text NOT NULL,
	"owner" text NOT NULL,
	"repo" text NOT NULL,
	"branch" text NOT NULL,
	"commit" text NOT NULL,
	"origin" text NOT NULL,
	"status" text NOT NULL,
	"outcome" jsonb,
	"note" text,
	"received_by" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"handled_at" timestamp with time zone
);
--> statement-breakpoint
DROP INDEX "deployments_env_app_idx";--> statement-breakpoint
DROP INDEX "deployments_status_idx";--> statement-breakpoint
DROP INDEX "stacks_env_app_idx";--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "summary" jsonb GENERATED ALWAYS AS (jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set(jsonb_set('{}'::jsonb, '{source}', coalesce(data->'source', 'null'::jsonb)), '{error}', coalesce(data->'error', 'null'::jsonb)), '{createdAt}', coalesce(data->'createdAt', 'null'::jsonb)), '{startedAt}', coalesce(data->'startedAt', 'null'::jsonb)), '{finishedAt}', coalesce(data->'finishedAt', 'null'::jsonb)), '{flags}', coalesce(data->'spec'->'flags', 'null'::jsonb)), '{stackName}', coalesce(data->'spec'->'cfStackName', 'null'::jsonb))) STORED;--> statement-breakpoint
CREATE INDEX "github_deliveries_branch_idx" ON "github_deliveries" USING btree ("repo_key","branch","received_at");--> statement-breakpoint
CREATE INDEX "deployments_env_app_created_idx" ON "deployments" USING btree ("environment_name","application_name","created_at","id");--> statement-breakpoint
CREATE INDEX "deployments_env_created_idx" ON "deployments" USING btree ("environment_name","created_at","id");--> statement-breakpoint
CREATE INDEX "deployments_app_created_idx" ON "deployments" USING btree ("application_name","created_at","id");--> statement-breakpoint
CREATE INDEX "deployments_status_created_idx" ON "deployments" USING btree ("status","created_at","id");--> statement-breakpoint
CREATE INDEX "deployments_version_created_idx" ON "deployments" USING btree ("app_version","created_at","id");--> statement-breakpoint
CREATE INDEX "stacks_env_name_idx" ON "stacks" USING btree ("environment_name","name");--> statement-breakpoint
CREATE INDEX "stacks_app_name_idx" ON "stacks" USING btree ("application_name","name");