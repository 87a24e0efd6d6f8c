/**
 * One container definition of a task: image, command, logs, and each env var
 * turned into a plain value, an ECS secret, or a parameter reference. Env vars that need more than a
 * value (bucket access, the database proxy, the adapter) tell the task's policy and sidecar.
 */
import type { Container, EnvVar } from '../application/index.ts';
import { AWS_REGION, cleanParameterName, join, ref, type CfnValue } from './cfn.ts';
import { logConfiguration } from './logs.ts';
import { s3Url } from './blobstores.ts';
import type { BuildContext } from './context.ts';
import type { PolicyBuilder } from './iam.ts';
import { SIDECAR_ADAPTER_PORT, SIDECAR_CONTAINER_NAME, type SidecarBuilder } from './sidecar.ts';

/** A container definition, kept as an object so routes can still add port mappings to it. */
export interface ContainerDefinition {
  Name: string;
  Image: CfnValue;
  Essential: boolean;
  Cpu: number;
  MemoryReservation?: number;
  Memory?: number;
  Command?: string[];
  Environment: { Name: string; Value: CfnValue }[];
  Secrets: { Name: string; ValueFrom: CfnValue }[];
  PortMappings: { ContainerPort: number }[];
  MountPoints: { ContainerPath: string; SourceVolume: string }[];
  Links?: string[];
  LogConfiguration: CfnValue;
}

export const SOCKETS_VOLUME = 'sockets';
export const DOCKER_SOCKET_VOLUME = 'docker-socket';

/** Where the app finds its databases through the sidecar's IAM proxy (a unix socket in /sockets). */
const IAM_PROXY_SOCKET_DIR = '/sockets/postgres';

/** `<registry>/<name>:<tag>`, the registry defaulting to the cluster's and the tag to the version. */
export function imageReference(container: Container): CfnValue {
  if (container.imageUrl !== undefined) return container.imageUrl;
  const image = container.image!;
  return join('', [image.registry ?? ref('ECSRepo'), '/', image.name, ':', image.tag ?? ref('VersionTag')]);
}

export interface ContainerWiring {
  policy: PolicyBuilder;
  sidecar: SidecarBuilder;
  /** Path of the container in the app config, for parameters that need to point back at it. */
  path: string;
}

export function buildContainerDefinition(ctx: BuildContext, container: Container, wiring: ContainerWiring): ContainerDefinition {
  const definition: ContainerDefinition = {
    Name: container.name,
    Image: imageReference(container),
    Essential: true,
    // Every container gets the same share for now; `demand` is not mapped to sizes yet.
    Cpu: 128,
    MemoryReservation: 256,
    ...(container.command.length > 0 ? { Command: container.command } : {}),
    Environment: [],
    Secrets: [],
    PortMappings: [],
    MountPoints: [{ ContainerPath: '/sockets', SourceVolume: SOCKETS_VOLUME }],
    LogConfiguration: logConfiguration(ctx.app.name, container.name),
  };
  container.envVars.forEach((envVar, index) => addEnvVar(ctx, definition, envVar, wiring, `${wiring.path}.envVars[${index}]`));
  if (!definition.Environment.some((e) => e.Name === 'AWS_REGION')) definition.Environment.push({ Name: 'AWS_REGION', Value: AWS_REGION });
  if (container.mountDockerSocket) {
    definition.MountPoints.push({ ContainerPath: '/var/run/docker.sock', SourceVolume: DOCKER_SOCKET_VOLUME });
    wiring.policy.addEcrPull();
  }
  return definition;
}

function addEnvVar(ctx: BuildContext, definition: ContainerDefinition, envVar: EnvVar, wiring: ContainerWiring, path: string): void {
  const setValue = (value: CfnValue): void => void definition.Environment.push({ Name: envVar.name, Value: value });
  const setSecret = (valueFrom: CfnValue): void => void definition.Secrets.push({ Name: envVar.name, ValueFrom: valueFrom });

  if (envVar.value !== undefined) return setValue(envVar.value);

  if (envVar.database) {
    // The schema checked that every referenced database is declared.
    const db = ctx.databases.get(envVar.database.databaseName)!;
    if (db.auth === 'secretsManager') return setSecret(db.urlSecretValueFrom);
    // IAM: the app talks plain Postgres to the sidecar's socket; the sidecar signs in with IAM.
    wiring.sidecar.proxyDatabase(db);
    wiring.policy.addRdsConnect(db.rdsConnectArn);
    return setValue(`host=${IAM_PROXY_SOCKET_DIR} user=${db.name} dbname=${db.name} sslmode=disable`);
  }

  if (envVar.blobstore) {
    const bucket = ctx.buckets.get(envVar.blobstore.name)!;
    wiring.policy.addBucket(bucket.arn, bucket.access);
    return setValue(s3Url(bucket, envVar.blobstore.subPath));
  }

  if (envVar.secret) {
    const secret = ctx.secrets.get(envVar.secret.secretName)!;
    const { jsonKey } = envVar.secret;
    // `<arn>:<json key>:<version stage>:<version id>`; the bare ARN is the whole secret.
    return setSecret(jsonKey ? join(':', [secret.arn, jsonKey, '', '']) : secret.arn);
  }

  if (envVar.fromEnv) {
    const parameter = ctx.template.addParameter({
      name: `EnvVar${cleanParameterName(envVar.fromEnv.name)}`,
      type: 'String',
      description: `Environment variable ${envVar.fromEnv.name}`,
      source: { kind: 'envVar', name: envVar.fromEnv.name },
      usedAt: [`${path}.fromEnv.name`],
    });
    return setValue(ref(parameter));
  }

  if (envVar.o5 === 'O5_VAR_ADAPTER_ENDPOINT') {
    wiring.sidecar.serveAdapter();
    return setValue(`http://${SIDECAR_CONTAINER_NAME}:${SIDECAR_ADAPTER_PORT}`);
  }
}
