/**
 * A local HTTP server (node:http) that plays the parts of GitHub's REST API the deployer calls, so
 * that tests exercise the real octokit client over real HTTP:
 *
 *   GET  /repos/{owner}/{repo}/commits/{ref}                  branch, tag, full or short SHA
 *   GET  /repos/{owner}/{repo}/contents/{path}?ref=           a file (base64) or a directory listing
 *   POST /repos/{owner}/{repo}/deployments                    -> 201 with an id
 *   GET  /repos/{owner}/{repo}/deployments?sha=&environment=  newest first, paged (per_page, page)
 *   POST /repos/{owner}/{repo}/deployments/{id}/statuses      -> 201
 *   POST /app/installations/{id}/access_tokens                GitHub App: a JWT in, a token out
 *
 * Answers follow GitHub's: 401 "Bad credentials", 404 "Not Found", 422 for an unknown ref. The
 * same API is also served under /api/v3, as GitHub Enterprise does.
 *
 *   const github = await startFakeGitHub({ token: 'ghp_test' });
 *   const sha = github.repo('octo', 'shop').commit({ 'o5.yaml': '...' }, { branch: 'main' });
 *   github.deployments  // what the deployer created, with their statuses
 */
import { createHash, createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeDeploymentStatus {
  id: number;
  state: string;
  description?: string;
  log_url?: string;
  auto_inactive?: boolean;
}

export interface FakeDeployment {
  id: number;
  owner: string;
  repo: string;
  ref: string;
  sha: string;
  environment: string;
  description?: string;
  payload: Record<string, unknown>;
  auto_merge?: boolean;
  required_contexts?: string[];
  statuses: FakeDeploymentStatus[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
}

interface Fault {
  method: string;
  path: RegExp;
  status: number;
  times: number;
  /** The request is carried out first, then answered with `status`: the answer was lost. */
  afterDoing: boolean;
}

/** A request held before GitHub handles it, until the test lets it go. */
export interface HeldRequest {
  /** Resolves when a matching request has arrived and is being held. */
  arrived: Promise<void>;
  release(): void;
}

interface Hold {
  method: string;
  path: RegExp;
  arrive: () => void;
  released: Promise<void>;
}

export class FakeRepo {
  readonly commits = new Map<string, Record<string, string>>();
  readonly branches = new Map<string, string>();
  readonly tags = new Map<string, string>();

  constructor(
    readonly owner: string,
    readonly name: string,
  ) {}

  /** Adds a commit holding exactly these files (path -> text); moves the branch and adds the tags given. */
  commit(files: Record<string, string>, refs: { branch?: string; tags?: string[] } = {}): string {
    const sha = createHash('sha1')
      .update(`${this.owner}/${this.name}#${this.commits.size}:${JSON.stringify(files)}`)
      .digest('hex');
    this.commits.set(sha, files);
    if (refs.branch) this.branches.set(refs.branch, sha);
    for (const tag of refs.tags ?? []) this.tags.set(tag, sha);
    return sha;
  }

  /** What GitHub's commits endpoint accepts: a branch or tag (bare or as refs/...), a full or short SHA. */
  resolve(ref: string): string | undefined {
    const bare = ref.replace(/^refs\//, '').replace(/^(heads|tags)\//, '');
    if (ref.startsWith('refs/tags/') || ref.startsWith('tags/')) return this.tags.get(bare);
    if (ref.startsWith('refs/heads/') || ref.startsWith('heads/')) return this.branches.get(bare);
    const named = this.branches.get(ref) ?? this.tags.get(ref);
    if (named) return named;
    if (/^[0-9a-f]{7,40}$/.test(ref)) {
      const matches = [...this.commits.keys()].filter((sha) => sha.startsWith(ref));
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }
}

export interface FakeGitHubOptions {
  /** Tokens the API accepts (`Authorization: token <t>`). */
  token?: string;
  /** Play a GitHub App: installation tokens are issued for JWTs signed with this key's private half. */
  app?: { appId: string; installationId: string; publicKeyPem: string };
}

export class FakeGitHub {
  readonly deployments: FakeDeployment[] = [];
  readonly requests: RecordedRequest[] = [];
  private readonly repos = new Map<string, FakeRepo>();
  private readonly tokens = new Set<string>();
  private readonly faults: Fault[] = [];
  private readonly holds: Hold[] = [];
  private readonly appKey?: KeyObject;
  private nextId = 1000;
  url = '';
  /** Every answer waits this long first (a slow GitHub). */
  latencyMs = 0;

  constructor(
    private readonly server: ReturnType<typeof createServer>,
    private readonly options: FakeGitHubOptions,
  ) {
    if (options.token) this.tokens.add(options.token);
    if (options.app) this.appKey = createPublicKey(options.app.publicKeyPem);
  }

  repo(owner: string, name: string): FakeRepo {
    const key = `${owner}/${name}`.toLowerCase();
    if (!this.repos.has(key)) this.repos.set(key, new FakeRepo(owner, name));
    return this.repos.get(key)!;
  }

  /**
   * The next `times` requests matching method and path get `status` (a GitHub outage). `afterDoing`:
   * GitHub carries the request out and the answer is lost on the way (a timeout, a proxy's 502).
   */
  failNext(method: string, path: RegExp, status: number, times = 1, { afterDoing = false } = {}): void {
    this.faults.push({ method, path, status, times, afterDoing });
  }

  /** Holds the next request matching method and path before handling it, until `release()`. */
  hold(method: string, path: RegExp): HeldRequest {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ method, path, arrive, released });
    return { arrived, release };
  }

  deploymentsOf(owner: string, repo: string): FakeDeployment[] {
    return this.deployments.filter((d) => d.owner.toLowerCase() === owner.toLowerCase() && d.repo.toLowerCase() === repo.toLowerCase());
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }

  /** Node's request handler. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://github.test');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname, authorization: req.headers.authorization });
    // GitHub Enterprise serves the same API under /api/v3.
    url.pathname = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
    const body = await readBody(req);
    if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
    const held = this.holds.findIndex((h) => h.method === method && h.path.test(url.pathname));
    if (held >= 0) {
      const [hold] = this.holds.splice(held, 1);
      hold!.arrive();
      await hold!.released;
    }

    const fault = this.faults.find((f) => f.times > 0 && f.method === method && f.path.test(url.pathname));
    if (fault) {
      fault.times--;
      if (!fault.afterDoing) return send(res, fault.status, { message: 'Server Error (injected by the test)' });
      // Carried out, then the answer is replaced by the failure.
      const lost = { writeHead: () => lost, end: () => lost } as unknown as ServerResponse;
      await this.route(lost, method, url, body, req);
      return send(res, fault.status, { message: 'Server Error (injected by the test, after doing the request)' });
    }
    return this.route(res, method, url, body, req);
  }

  private async route(res: ServerResponse, method: string, url: URL, body: Record<string, any>, req: IncomingMessage): Promise<void> {
    const installation = /^\/app\/installations\/([^/]+)\/access_tokens$/.exec(url.pathname);
    if (installation && method === 'POST') return this.issueInstallationToken(req, res, decodeURIComponent(installation[1]!));

    if (!this.authorized(req.headers.authorization)) return send(res, 401, { message: 'Bad credentials' });

    const match = /^\/repos\/([^/]+)\/([^/]+)\/(.*)$/.exec(url.pathname);
    if (!match) return send(res, 404, { message: 'Not Found' });
    const [, owner, name, rest] = match as unknown as [string, string, string, string];
    const repo = this.repos.get(`${decodeURIComponent(owner)}/${decodeURIComponent(name)}`.toLowerCase());
    if (!repo) return send(res, 404, { message: 'Not Found' });

    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^commits\/(.+)$/.exec(rest))) {
      const ref = decodeURIComponent(m[1]!);
      const sha = repo.resolve(ref);
      if (!sha) return send(res, 422, { message: `No commit found for SHA: ${ref}` });
      return send(res, 200, { sha, commit: { message: `commit ${sha.slice(0, 7)}` }, files: [] });
    }
    if (method === 'GET' && (m = /^contents\/(.*)$/.exec(rest))) {
      return this.contents(res, repo, decodeURIComponent(m[1]!), url.searchParams.get('ref') ?? '');
    }
    if (method === 'POST' && rest === 'deployments') return this.createDeployment(res, repo, body);
    if (method === 'GET' && rest === 'deployments') return this.listDeployments(res, repo, url.searchParams);
    if (method === 'POST' && (m = /^deployments\/(\d+)\/statuses$/.exec(rest))) {
      return this.createStatus(res, repo, Number(m[1]), body);
    }
    return send(res, 404, { message: 'Not Found' });
  }

  private authorized(header: string | undefined): boolean {
    const token = /^(?:token|bearer)\s+(\S+)$/i.exec(header ?? '')?.[1];
    return token !== undefined && this.tokens.has(token);
  }

  private contents(res: ServerResponse, repo: FakeRepo, path: string, ref: string) {
    const sha = repo.resolve(ref);
    const files = sha ? repo.commits.get(sha)! : undefined;
    if (!files) return send(res, 404, { message: `No commit found for the ref ${ref}` });
    if (path in files) {
      const content = Buffer.from(files[path]!).toString('base64');
      return send(res, 200, { type: 'file', encoding: 'base64', name: path.split('/').pop(), path, sha: blobSha(files[path]!), size: files[path]!.length, content });
    }
    const prefix = path === '' ? '' : `${path}/`;
    const children = new Map<string, 'file' | 'dir'>();
    for (const file of Object.keys(files)) {
      if (!file.startsWith(prefix)) continue;
      const [head, ...more] = file.slice(prefix.length).split('/');
      children.set(head!, more.length ? 'dir' : 'file');
    }
    if (children.size === 0) return send(res, 404, { message: 'Not Found' });
    return send(
      res,
      200,
      [...children].map(([name, type]) => ({ type, name, path: `${prefix}${name}`, sha: blobSha(name) })),
    );
  }

  private createDeployment(res: ServerResponse, repo: FakeRepo, body: Record<string, any>) {
    const sha = repo.resolve(String(body.ref ?? ''));
    if (!sha) return send(res, 422, { message: `No ref found for: ${body.ref}` });
    const deployment: FakeDeployment = {
      id: this.nextId++,
      owner: repo.owner,
      repo: repo.name,
      ref: body.ref,
      sha,
      environment: body.environment ?? 'production',
      description: body.description,
      payload: typeof body.payload === 'string' ? JSON.parse(body.payload) : (body.payload ?? {}),
      auto_merge: body.auto_merge,
      required_contexts: body.required_contexts,
      statuses: [],
    };
    this.deployments.push(deployment);
    const { statuses: _statuses, ...shown } = deployment;
    return send(res, 201, shown);
  }

  private listDeployments(res: ServerResponse, repo: FakeRepo, query: URLSearchParams) {
    const sha = query.get('sha');
    const environment = query.get('environment');
    const perPage = Math.min(100, Number(query.get('per_page') ?? 30));
    const page = Number(query.get('page') ?? 1);
    const found = this.deployments
      .filter((d) => d.repo === repo.name && (!sha || d.sha === sha) && (!environment || d.environment === environment))
      .reverse()
      .slice((page - 1) * perPage, page * perPage)
      .map(({ statuses: _statuses, ...shown }) => shown);
    return send(res, 200, found);
  }

  private createStatus(res: ServerResponse, repo: FakeRepo, deploymentId: number, body: Record<string, any>) {
    const deployment = this.deployments.find((d) => d.id === deploymentId && d.repo === repo.name);
    if (!deployment) return send(res, 404, { message: 'Not Found' });
    const states = ['error', 'failure', 'inactive', 'in_progress', 'queued', 'pending', 'success'];
    if (!states.includes(body.state)) return send(res, 422, { message: `Invalid state ${body.state}` });
    if (typeof body.description === 'string' && body.description.length > 140) {
      return send(res, 422, { message: 'description is too long (maximum is 140 characters)' });
    }
    const status: FakeDeploymentStatus = { id: this.nextId++, state: body.state, description: body.description, log_url: body.log_url, auto_inactive: body.auto_inactive };
    deployment.statuses.push(status);
    return send(res, 201, status);
  }

  /** Checks the App's JWT (RS256, issuer = app id) the way GitHub does, then issues a token. */
  private issueInstallationToken(req: IncomingMessage, res: ServerResponse, installationId: string) {
    const app = this.options.app;
    const jwt = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!app || !this.appKey || !jwt || installationId !== app.installationId) return send(res, 401, { message: 'Bad credentials' });
    const [header, payload, signature] = jwt.split('.');
    const signed = verifySignature('RSA-SHA256', Buffer.from(`${header}.${payload}`), this.appKey, Buffer.from(signature ?? '', 'base64url'));
    const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as { iss?: unknown };
    if (!signed || String(claims.iss) !== app.appId) return send(res, 401, { message: 'A JSON web token could not be decoded' });
    const token = `ghs_installation_${this.nextId++}`;
    this.tokens.add(token);
    return send(res, 201, { token, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: { contents: 'read', deployments: 'write' } });
  }
}

export async function startFakeGitHub(options: FakeGitHubOptions = {}): Promise<FakeGitHub> {
  let fake: FakeGitHub;
  const server = createServer((req, res) => {
    fake.handle(req, res).catch((err) => send(res, 500, { message: String(err) }));
  });
  fake = new FakeGitHub(server, options);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

async function readBody(req: IncomingMessage): Promise<Record<string, any>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-request-id': 'FAKE' });
  res.end(JSON.stringify(body));
}

function blobSha(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
