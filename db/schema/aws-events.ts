/**
 * AWS events the deployer has handled (server/engine/workers/aws-events.ts): an event delivered
 * again (SQS delivers at least once; EventBridge may send twice) finds its id here and does
 * nothing. Rows older than a day are pruned: no queue redelivers that late.
 */
import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

export const awsEvents = pgTable(
  'aws_events',
  {
    /** EventBridge's event id. */
    id: text('id').primaryKey(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [index('aws_events_received_idx').on(t.receivedAt)],
);
