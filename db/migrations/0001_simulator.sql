CREATE TABLE "sim_change_sets" (
	"stack_name" text NOT NULL,
	"name" text NOT NULL,
	"change_set_id" text NOT NULL,
	"client_token" text NOT NULL,
	"template_body" text NOT NULL,
	"template_url" text NOT NULL,
	"parameters" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"outcome" text NOT NULL,
	"reason" text,
	"execution_token" text,
	"executed_at" timestamp with time zone,
	"execution_duration_ms" integer,
	"execution_outcome" text,
	"fault_ids" jsonb NOT NULL,
	CONSTRAINT "sim_change_sets_stack_name_name_pk" PRIMARY KEY("stack_name","name")
);
--> statement-breakpoint
CREATE TABLE "sim_database_operations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"operation_id" text NOT NULL,
	"kind" text NOT NULL,
	"db_name" text NOT NULL,
	"request" jsonb NOT NULL,
	"outcome" text NOT NULL,
	"error" text,
	"executed_sql" boolean NOT NULL,
	"performed_at" timestamp with time zone NOT NULL,
	"fault_ids" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_faults" (
	"id" serial PRIMARY KEY NOT NULL,
	"stack" text,
	"step" text,
	"fault" text NOT NULL,
	"times" integer,
	"remaining" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_secrets" (
	"arn" text PRIMARY KEY NOT NULL,
	"value" text NOT NULL,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_stack_operations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"stack_name" text NOT NULL,
	"stack_id" text NOT NULL,
	"operation" text NOT NULL,
	"client_token" text NOT NULL,
	"result" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"fault_ids" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_stacks" (
	"name" text PRIMARY KEY NOT NULL,
	"stack_id" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"template_body" text NOT NULL,
	"template_url" text,
	"parameters" jsonb NOT NULL,
	"outputs" jsonb NOT NULL,
	"operation" text NOT NULL,
	"outcome" text NOT NULL,
	"client_token" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"reason" text,
	"target_template_body" text,
	"target_template_url" text,
	"target_parameters" jsonb,
	"target_outputs" jsonb
);
--> statement-breakpoint
CREATE TABLE "sim_tasks" (
	"task_arn" text PRIMARY KEY NOT NULL,
	"cluster" text NOT NULL,
	"task_definition" text NOT NULL,
	"client_token" text NOT NULL,
	"started_by" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"duration_ms" integer NOT NULL,
	"outcome" text NOT NULL,
	"exit_code" integer NOT NULL,
	"stopped_reason" text,
	"fault_ids" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sim_templates" (
	"key" text PRIMARY KEY NOT NULL,
	"url" text NOT NULL,
	"body" text NOT NULL,
	"stored_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sim_database_operations_operation_idx" ON "sim_database_operations" USING btree ("operation_id");--> statement-breakpoint
CREATE INDEX "sim_stack_operations_token_idx" ON "sim_stack_operations" USING btree ("stack_id","operation","client_token");--> statement-breakpoint
CREATE UNIQUE INDEX "sim_tasks_client_token_key" ON "sim_tasks" USING btree ("client_token");--> statement-breakpoint
CREATE UNIQUE INDEX "sim_templates_url_key" ON "sim_templates" USING btree ("url");