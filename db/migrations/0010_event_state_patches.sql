-- An event row keeps the entity's data after it either whole (a snapshot) or as an RFC 6902 patch on
-- the data after the event before it (server/engine/event-states.ts). Rows stored before keep theirs
-- whole. Patches are small: kept inline, compressed as Postgres likes. The checks are NOT VALID: rows
-- stored before hold their data whole, so scanning the tables (under an exclusive lock) would prove
-- nothing; new rows are checked.
ALTER TABLE "cluster_events" ALTER COLUMN "data" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "deployment_events" ALTER COLUMN "data" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "environment_events" ALTER COLUMN "data" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "stack_events" ALTER COLUMN "data" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "cluster_events" ADD COLUMN "data_patch" jsonb;--> statement-breakpoint
ALTER TABLE "deployment_events" ADD COLUMN "data_patch" jsonb;--> statement-breakpoint
ALTER TABLE "environment_events" ADD COLUMN "data_patch" jsonb;--> statement-breakpoint
ALTER TABLE "stack_events" ADD COLUMN "data_patch" jsonb;--> statement-breakpoint
ALTER TABLE "cluster_events" ADD CONSTRAINT "cluster_events_state_form" CHECK ((data is null) <> (data_patch is null)) NOT VALID;--> statement-breakpoint
ALTER TABLE "deployment_events" ADD CONSTRAINT "deployment_events_state_form" CHECK ((data is null) <> (data_patch is null)) NOT VALID;--> statement-breakpoint
ALTER TABLE "environment_events" ADD CONSTRAINT "environment_events_state_form" CHECK ((data is null) <> (data_patch is null)) NOT VALID;--> statement-breakpoint
ALTER TABLE "stack_events" ADD CONSTRAINT "stack_events_state_form" CHECK ((data is null) <> (data_patch is null)) NOT VALID;--> statement-breakpoint
-- A state row is updated with a patch on its data (server/domain/json-patch.ts): the operations in
-- order, each with its path as an array of keys. The diff that makes patches adds to an array only
-- at its end, so jsonb_set (which appends at an index past the end) serves add and replace alike.
CREATE FUNCTION deployer_jsonb_patch(target jsonb, patch jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  operation jsonb;
  path text[];
BEGIN
  FOR operation IN SELECT value FROM jsonb_array_elements(patch) WITH ORDINALITY AS o(value, n) ORDER BY n LOOP
    path := ARRAY(SELECT key FROM jsonb_array_elements_text(operation->'path') WITH ORDINALITY AS p(key, n) ORDER BY n);
    IF cardinality(path) = 0 THEN
      target := operation->'value';
    ELSIF operation->>'op' = 'remove' THEN
      target := target #- path;
    ELSIF NOT operation ? 'value' THEN
      -- jsonb_set would make the whole document NULL.
      RAISE EXCEPTION 'deployer_jsonb_patch: % at % has no value', operation->>'op', operation->'path';
    ELSE
      target := jsonb_set(target, path, operation->'value', true);
    END IF;
  END LOOP;
  RETURN target;
END
$$;
