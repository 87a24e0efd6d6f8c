/**
 * What the deployer hands out itself and must never hand out twice: listener rule priorities. The
 * load balancer only shows a priority once a stack's update has applied it, so two deployments
 * resolving their parameters at once would both see it free; each allocation is recorded here,
 * one row per listener and priority (the primary key refuses a second holder), written under a
 * lock per listener (server/engine/listener-priorities.ts).
 */
import { integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

export const listenerRulePriorities = pgTable(
  'listener_rule_priorities',
  {
    listenerArn: text('listener_arn').notNull(),
    priority: integer('priority').notNull(),
    /** The CloudFormation stack whose rule holds it. */
    stackName: text('stack_name').notNull(),
    /** The parameter (rule) of that stack, e.g. ListenerRulePriorityApi0. */
    parameter: text('parameter').notNull(),
    deploymentId: text('deployment_id').notNull(),
    allocatedAt: timestamp('allocated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.listenerArn, t.priority] })],
);
