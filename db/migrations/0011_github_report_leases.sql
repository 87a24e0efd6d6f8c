ALTER TABLE "github_deployments" ADD COLUMN "reported_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD COLUMN "wanted" text;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD COLUMN "wanted_description" text;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD COLUMN "wanted_log_url" text;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD COLUMN "wanted_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD COLUMN "sending_token" uuid;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD COLUMN "sending_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "github_deployments" ADD COLUMN "creation_requested_at" timestamp with time zone;
