CREATE TABLE "cluster_events" (
	"position" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"entity_id" uuid NOT NULL,
	"sequence" integer NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"cause" jsonb,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "clusters" (
	"id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployment_events" (
	"position" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"entity_id" uuid NOT NULL,
	"sequence" integer NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"cause" jsonb,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"stack_id" uuid NOT NULL,
	"environment_name" text NOT NULL,
	"application_name" text NOT NULL,
	"app_version" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "environment_events" (
	"position" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"entity_id" uuid NOT NULL,
	"sequence" integer NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"cause" jsonb,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "environments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL,
	"cluster_id" uuid NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stack_events" (
	"position" bigserial PRIMARY KEY NOT NULL,
	"event_id" uuid NOT NULL,
	"entity_id" uuid NOT NULL,
	"sequence" integer NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"cause" jsonb,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stacks" (
	"id" uuid PRIMARY KEY NOT NULL,
	"status" text NOT NULL,
	"data" jsonb NOT NULL,
	"version" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	"name" text NOT NULL,
	"environment_name" text NOT NULL,
	"application_name" text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "cluster_events_event_id_key" ON "cluster_events" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "cluster_events_entity_sequence_key" ON "cluster_events" USING btree ("entity_id","sequence");--> statement-breakpoint
CREATE UNIQUE INDEX "clusters_name_key" ON "clusters" USING btree ("name");--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_events_event_id_key" ON "deployment_events" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_events_entity_sequence_key" ON "deployment_events" USING btree ("entity_id","sequence");--> statement-breakpoint
CREATE INDEX "deployments_stack_idx" ON "deployments" USING btree ("stack_id");--> statement-breakpoint
CREATE INDEX "deployments_env_app_idx" ON "deployments" USING btree ("environment_name","application_name");--> statement-breakpoint
CREATE INDEX "deployments_status_idx" ON "deployments" USING btree ("status");--> statement-breakpoint
CREATE INDEX "deployments_created_idx" ON "deployments" USING btree ("created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "environment_events_event_id_key" ON "environment_events" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "environment_events_entity_sequence_key" ON "environment_events" USING btree ("entity_id","sequence");--> statement-breakpoint
CREATE UNIQUE INDEX "environments_name_key" ON "environments" USING btree ("name");--> statement-breakpoint
CREATE INDEX "environments_cluster_idx" ON "environments" USING btree ("cluster_id");--> statement-breakpoint
CREATE UNIQUE INDEX "stack_events_event_id_key" ON "stack_events" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "stack_events_entity_sequence_key" ON "stack_events" USING btree ("entity_id","sequence");--> statement-breakpoint
CREATE UNIQUE INDEX "stacks_name_key" ON "stacks" USING btree ("name");--> statement-breakpoint
CREATE INDEX "stacks_env_app_idx" ON "stacks" USING btree ("environment_name","application_name");