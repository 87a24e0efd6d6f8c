/**
 * The typed client of the Deployer API, generated from openapi/openapi.json (sdk/schema.d.ts) and
 * served by openapi-fetch. Every request and response body is typed by the route it calls.
 *
 *   const deployer = createDeployerClient({ baseUrl: 'http://localhost:8080', token: process.env.DEPLOYER_TOKEN });
 *   const { data, error } = await deployer.GET('/v1/clusters/{cluster}', { params: { path: { cluster: 'prod' } } });
 */
import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.d.ts';

export type { components, paths };
/**
 * The bodies this client reads: JSON and problems. The events route can also answer
 * `text/event-stream`; sdk/events.ts reads that one as a stream.
 */
export type ResponseMediaType = 'application/json' | 'application/problem+json';
export type DeployerClient = Client<paths, ResponseMediaType>;
export type Problem = components['schemas']['Problem'];

export interface DeployerClientOptions {
  /** Where the deployer listens, e.g. http://localhost:8080. */
  baseUrl: string;
  /** A token from the server's DEPLOYER_API_TOKENS; sent as `Authorization: Bearer`. */
  token?: string;
  /** Another fetch (tests pass the app's own handler to call it without a socket). */
  fetch?: (request: Request) => Promise<Response>;
  headers?: Record<string, string>;
}

export function createDeployerClient(options: DeployerClientOptions): DeployerClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  return createClient<paths, ResponseMediaType>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
