/**
 * Buckets. An owned blobstore is an S3 bucket in the stack, named
 * `<name>.<app>.<EnvName>.<region>.<namespace>` and kept when the stack goes. A reference to
 * another app's blobstore uses that app's bucket name; a reference by bucket name uses it as is.
 *
 * Fix of a ⚠: the Go code built a bucket-name reference's ARN as `arn:aws:s3:<region>:<account>:<bucket>`;
 * S3 ARNs have no region or account, so it is `arn:aws:s3:::<bucket>` here.
 */
import type { Blobstore } from '../application/index.ts';
import { AWS_REGION, getAtt, join, ref, resourceId, type CfnValue } from './cfn.ts';
import type { BucketInfo, BuildContext } from './context.ts';
import type { BucketAccess } from './iam.ts';

export function mapBlobstores(ctx: BuildContext): void {
  ctx.app.blobstores.forEach((blobstore, index) => ctx.buckets.set(blobstore.name, mapBlobstore(ctx, blobstore, `blobstores[${index}].name`)));
}

function mapBlobstore(ctx: BuildContext, blobstore: Blobstore, path: string): BucketInfo {
  const { ref: bucketRef } = blobstore;
  if (!bucketRef) {
    const name = conventionalBucketName(blobstore.name, ctx.app.name);
    const logicalId = ctx.template.addResource(resourceId('AWS::S3::Bucket', blobstore.name), {
      Type: 'AWS::S3::Bucket',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        BucketName: name,
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: blobstore.emitEvents } },
      },
    }, path);
    return { name, arn: getAtt(logicalId, 'Arn'), access: 'readWrite' };
  }

  const access = refAccess(bucketRef.readPermission, bucketRef.writePermission);
  const name: CfnValue = bucketRef.application !== undefined ? conventionalBucketName(blobstore.name, bucketRef.application) : bucketRef.bucketName!;
  return { name, arn: join('', ['arn:aws:s3:::', name]), access };
}

/** The name every o5 app's bucket gets: unique per app, environment, region and cluster namespace. */
function conventionalBucketName(blobstoreName: string, appName: string): CfnValue {
  return join('.', [blobstoreName, appName, ref('EnvName'), AWS_REGION, ref('S3BucketNamespace')]);
}

/** A reference reads by default; write access does not imply read. */
function refAccess(read: boolean, write: boolean): BucketAccess {
  if (read && write) return 'readWrite';
  return write ? 'write' : 'read';
}

/**
 * The value of a blobstore env var: `s3://<bucket>[/<subPath>]`. subPath is a proto3 `optional`
 * field, so o5 (dep_blobstore.go, S3URL) tells `subPath: ""` from no subPath: `s3://<bucket>/`.
 */
export function s3Url(bucket: BucketInfo, subPath: string | undefined): CfnValue {
  if (subPath === undefined) return join('', ['s3://', bucket.name]);
  return join('', ['s3://', bucket.name, subPath.startsWith('/') ? subPath : `/${subPath}`]);
}
