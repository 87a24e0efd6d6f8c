-- A deployment's row is rewritten, and an event row with its whole state appended, on every state
-- change: about 25 values of 8-10 KB of JSON per deployment. Compressing each one (pglz) cost
-- Postgres more CPU than any other statement of the engine; stored out of line uncompressed, they
-- take about 2.4 times the disk instead (npm run bench shows the difference).
ALTER TABLE "deployments" ALTER COLUMN "data" SET STORAGE EXTERNAL;--> statement-breakpoint
ALTER TABLE "deployment_events" ALTER COLUMN "data" SET STORAGE EXTERNAL;
