/**
 * Templates live in S3 under the key the engine derives from the deployment, so storing one twice
 * overwrites it with the same body. CloudFormation reads them by URL; the import plan downloads
 * them again to cut them down.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { InfraError } from '../port.ts';
import type { AwsContext } from './context.ts';

export async function storeTemplate(ctx: AwsContext, input: { key: string; body: string }): Promise<{ url: string }> {
  const bucket = ctx.options.templateBucket;
  await ctx.call(() =>
    ctx.clients.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: input.key, Body: input.body, ContentType: contentType(input.body) }),
    ),
  );
  return { url: templateUrl(ctx.options.endpoint, await ctx.region(), bucket, input.key) };
}

export async function downloadTemplate(ctx: AwsContext, url: string): Promise<string> {
  const { bucket, key } = parseTemplateUrl(url);
  const object = await ctx.call(() => ctx.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
  if (!object.Body) throw new InfraError('EmptyTemplate', `s3://${bucket}/${key} has no body`);
  return object.Body.transformToString('utf-8');
}

/**
 * Path-style URLs, which CloudFormation reads in every region and which work for bucket names with
 * dots; with a custom endpoint, the same shape under that endpoint (moto reads those too).
 */
export function templateUrl(endpoint: string | undefined, region: string, bucket: string, key: string): string {
  const base = endpoint?.replace(/\/+$/, '') ?? `https://s3.${region}.amazonaws.com`;
  return `${base}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Reads bucket and key back from a path-style or virtual-hosted-style S3 URL. */
export function parseTemplateUrl(url: string): { bucket: string; key: string } {
  const parsed = new URL(url);
  const path = parsed.pathname.replace(/^\/+/, '');
  const virtualHosted = /^(.+)\.s3[.-]/.exec(parsed.hostname);
  if (virtualHosted) return { bucket: virtualHosted[1], key: decodeURIComponent(path) };
  const slash = path.indexOf('/');
  if (slash <= 0) throw new InfraError('InvalidTemplateUrl', `not an S3 object URL: ${url}`);
  return { bucket: path.slice(0, slash), key: decodeURIComponent(path.slice(slash + 1)) };
}

const contentType = (body: string) => (body.trimStart().startsWith('{') ? 'application/json' : 'application/yaml');
