/** The application config (o5.yaml): schema, types and parser. */
export { applicationSchema, parseApplication, readApplication, type Application, type ReadApplication } from './application.ts';
export { legacyFieldWarnings, type LegacyFieldWarning } from './legacy-fields.ts';
export { DEMANDS, O5_VARS, type Container, type EnvVar } from './container.ts';
export { databaseNameSuffix, type Blobstore, type Database, type Postgres, type Secret, type Target } from './resources.ts';
export {
  DEFAULT_APP_PORT,
  ROUTE_GROUPS,
  ROUTE_PROTOCOLS,
  type Route,
  type RouteGroup,
  type RouteProtocol,
  type Runtime,
  type Subscription,
  type WorkerConfig,
} from './runtime.ts';
export { parseSubscriptionName, type GlobalMessageType, type SubscriptionTarget } from './subscription-name.ts';
