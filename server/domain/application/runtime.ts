/**
 * Runtimes: each runtime is one ECS service with its containers, the
 * HTTP/gRPC routes the load balancer sends to it, and the messages it subscribes to.
 */
import { z } from 'zod';
import { noDuplicates, protoEnum, protoObject } from './schema-helpers.ts';
import { runtimeContainerSchema } from './container.ts';
import { parseSubscriptionName, SUBSCRIPTION_NAME_FORMS } from './subscription-name.ts';

export const ROUTE_PROTOCOLS = ['ROUTE_PROTOCOL_HTTP', 'ROUTE_PROTOCOL_GRPC'] as const;
export const ROUTE_GROUPS = ['ROUTE_GROUP_UNSPECIFIED', 'ROUTE_GROUP_FIRST', 'ROUTE_GROUP_NORMAL', 'ROUTE_GROUP_FALLBACK'] as const;
/** ROUTE_PROTOCOL_UNSPECIFIED is read (as the full name) but refused: o5 fails the build ("unsupported protocol"). */
const ROUTE_PROTOCOL_NAMES = ['ROUTE_PROTOCOL_UNSPECIFIED', ...ROUTE_PROTOCOLS];
export type RouteProtocol = (typeof ROUTE_PROTOCOLS)[number];
export type RouteGroup = (typeof ROUTE_GROUPS)[number];

/** Where the sidecar (or the load balancer, with bypassIngress) sends traffic when no port is given. */
export const DEFAULT_APP_PORT = 8080;

/**
 * A port; 0 is what o5 reads as unset (proto3 `int64 port`), so it is the default port here too.
 * Negative or above 65535: refused (o5 writes them into the template, where ECS refuses them).
 */
const port = z
  .number()
  .int()
  .min(0)
  .max(65535)
  .default(DEFAULT_APP_PORT)
  .overwrite((p) => (p === 0 ? DEFAULT_APP_PORT : p));

/** A container of the runtime; "" is what o5 reads as unset (the runtime's first container). */
const targetContainer = z
  .string()
  .optional()
  .overwrite((name) => (name === '' ? undefined : name));

const routeSchema = protoObject({
    /** Path prefix; the rule matches `<prefix>*`. Empty only in the fallback group. */
    prefix: z.string().default(''),
    /** Host prefixes: `<sub>.<HostHeader>`. The load balancer takes at most 3 per condition. */
    subdomains: z.array(z.string().min(1)).max(3, 'At most 3 subdomains').default([]),
    /** `HTTP` is read as `ROUTE_PROTOCOL_HTTP`; "" is unset, so refused like no protocol. */
    protocol: protoEnum(
      'ROUTE_PROTOCOL_',
      ROUTE_PROTOCOL_NAMES,
      z.enum(ROUTE_PROTOCOLS, {
        error: (issue) =>
          issue.input === undefined ? `Required: one of ${ROUTE_PROTOCOLS.join(', ')}` : `Must be one of ${ROUTE_PROTOCOLS.join(', ')} (found ${JSON.stringify(issue.input)})`,
      }),
    ),
    /** Defaults to the runtime's first container. */
    targetContainer,
    /** true: the load balancer reaches the container directly, not through the sidecar. */
    bypassIngress: z.boolean().default(false),
    port,
    routeGroup: protoEnum('ROUTE_GROUP_', ROUTE_GROUPS, z.enum(ROUTE_GROUPS).default('ROUTE_GROUP_UNSPECIFIED')),
  })
  .superRefine((route, ctx) => {
    if (route.prefix === '' && route.routeGroup !== 'ROUTE_GROUP_FALLBACK') {
      ctx.addIssue({ code: 'custom', message: 'Required unless routeGroup is ROUTE_GROUP_FALLBACK', path: ['prefix'] });
    }
  });

const subscriptionSchema = protoObject({
  name: z.string().superRefine((name, ctx) => {
    const parsed = parseSubscriptionName(name);
    if ('error' in parsed) ctx.addIssue({ code: 'custom', message: `${parsed.error}; the forms are ${SUBSCRIPTION_NAME_FORMS}` });
  }),
  /** Absent: this environment; `*`: every environment; else a linked environment's lookupName. */
  envName: z.string().min(1).optional(),
  /** Defaults to the runtime's first container. */
  targetContainer,
  port,
  /** Declared by the original proto; it changes nothing yet. */
  rawMessage: z.boolean().default(false),
});

const percent = z.number().int().min(0).max(100);

const workerConfigSchema = protoObject({
  /** Sidecar `RESEND_CHANCE`: percentage of messages replayed (testing resilience). */
  replayChance: percent.default(0),
  /** Sidecar `DEADLETTER_CHANCE`: percentage of messages processed then dead-lettered. */
  deadletterChance: percent.default(0),
  /** Sidecar `NO_DEADLETTERS`: for the dead-letter handlers themselves. */
  noDeadletters: z.boolean().default(false),
});

export const runtimeSchema = protoObject({
    name: z.string().regex(/^[a-z][a-z0-9]+$/, 'Must match ^[a-z][a-z0-9]+$ (lowercase letters and digits, no hyphens)'),
    /** Declared by the original proto; it changes nothing yet. */
    directIngress: z.boolean().default(false),
    containers: z.array(runtimeContainerSchema).min(1, 'A runtime needs at least one container'),
    routes: z.array(routeSchema).default([]),
    subscriptions: z.array(subscriptionSchema).default([]),
    workerConfig: workerConfigSchema.optional(),
    /** Names of IAM policies the environment defines (`aws.iamPolicies`), attached to the task role. */
    namedEnvPolicies: z.array(z.string().min(1)).default([]),
  })
  .superRefine((runtime, ctx) => {
    noDuplicates(runtime.containers, 'name', ['containers'], 'container', ctx);
    const containers = new Set(runtime.containers.map((c) => c.name));
    const checkTarget = (list: 'routes' | 'subscriptions', items: { targetContainer?: string }[]) =>
      items.forEach((item, i) => {
        if (item.targetContainer !== undefined && !containers.has(item.targetContainer)) {
          ctx.addIssue({
            code: 'custom',
            message: `Unknown container "${item.targetContainer}" (this runtime has ${[...containers].join(', ')})`,
            path: [list, i, 'targetContainer'],
          });
        }
      });
    checkTarget('routes', runtime.routes);
    checkTarget('subscriptions', runtime.subscriptions);
    runtime.namedEnvPolicies.forEach((policy, i) => {
      if (runtime.namedEnvPolicies.indexOf(policy) !== i) {
        ctx.addIssue({ code: 'custom', message: `Duplicate policy "${policy}"`, path: ['namedEnvPolicies', i] });
      }
    });
  });

export type Runtime = z.output<typeof runtimeSchema>;
export type Route = Runtime['routes'][number];
export type Subscription = Runtime['subscriptions'][number];
export type WorkerConfig = NonNullable<Runtime['workerConfig']>;
