-- The simulator keeps each distinct template body once, by the hex sha256 of its UTF-8 text (as
-- server/infra/simulated/template-storage.ts names it); stored templates, stacks and change sets
-- refer to it. Every body stored so far moves there first, then the references are filled in and
-- the copies dropped.
CREATE TABLE "sim_template_bodies" (
	"sha256" text PRIMARY KEY NOT NULL,
	"body" text NOT NULL
);
--> statement-breakpoint
INSERT INTO "sim_template_bodies" ("sha256", "body")
SELECT encode(sha256(convert_to("body", 'UTF8')), 'hex'), "body"
FROM (
	SELECT "body" FROM "sim_templates"
	UNION SELECT "template_body" FROM "sim_stacks"
	UNION SELECT "target_template_body" FROM "sim_stacks" WHERE "target_template_body" IS NOT NULL
	UNION SELECT "template_body" FROM "sim_change_sets"
) AS "bodies";--> statement-breakpoint
ALTER TABLE "sim_change_sets" ADD COLUMN "template_sha256" text;--> statement-breakpoint
ALTER TABLE "sim_stacks" ADD COLUMN "template_sha256" text;--> statement-breakpoint
ALTER TABLE "sim_stacks" ADD COLUMN "target_template_sha256" text;--> statement-breakpoint
ALTER TABLE "sim_templates" ADD COLUMN "body_sha256" text;--> statement-breakpoint
UPDATE "sim_change_sets" SET "template_sha256" = encode(sha256(convert_to("template_body", 'UTF8')), 'hex');--> statement-breakpoint
UPDATE "sim_stacks" SET "template_sha256" = encode(sha256(convert_to("template_body", 'UTF8')), 'hex'),
	"target_template_sha256" = encode(sha256(convert_to("target_template_body", 'UTF8')), 'hex');--> statement-breakpoint
UPDATE "sim_templates" SET "body_sha256" = encode(sha256(convert_to("body", 'UTF8')), 'hex');--> statement-breakpoint
ALTER TABLE "sim_change_sets" ALTER COLUMN "template_sha256" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "sim_stacks" ALTER COLUMN "template_sha256" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "sim_templates" ALTER COLUMN "body_sha256" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "sim_change_sets" DROP COLUMN "template_body";--> statement-breakpoint
ALTER TABLE "sim_stacks" DROP COLUMN "template_body";--> statement-breakpoint
ALTER TABLE "sim_stacks" DROP COLUMN "target_template_body";--> statement-breakpoint
ALTER TABLE "sim_templates" DROP COLUMN "body";
