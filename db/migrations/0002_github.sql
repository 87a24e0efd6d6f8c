CREATE TABLE "github_deployments" (
	"deployment_id" uuid PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"repo" text NOT NULL,
	"environment" text NOT NULL,
	"commit" text NOT NULL,
	"github_deployment_id" bigint,
	"reported" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "push_target_events" (
	"position" bigserial PRIMARY KEY NOT NULL,
	"repo_key" text NOT NULL,
	"version" integer NOT NULL,
	"branches" jsonb NOT NULL,
	"actor" text NOT NULL,
	"request_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "push_targets" (
	"repo_key" text PRIMARY KEY NOT NULL,
	"owner" text NOT NULL,
	"repo" text NOT NULL,
	"branches" jsonb NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "push_target_events_repo_idx" ON "push_target_events" USING btree ("repo_key","position");