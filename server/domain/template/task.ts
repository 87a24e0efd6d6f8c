/**
 * An ECS task definition with its IAM role and, when needed, its sidecar: what a runtime's service
 * runs, and what a database migration runs. Tasks use EC2 instances in bridge networking; every
 * container shares the `sockets` volume (the IAM proxy's socket lives there).
 */
import type { Container } from '../application/index.ts';
import { AWS_STACK_NAME, getAtt, join, ref, resourceId, type CfnValue } from './cfn.ts';
import { buildContainerDefinition, DOCKER_SOCKET_VOLUME, SOCKETS_VOLUME, type ContainerDefinition } from './containers.ts';
import type { BuildContext } from './context.ts';
import { PolicyBuilder } from './iam.ts';
import { SidecarBuilder } from './sidecar.ts';

export interface TaskNames {
  /** Name in logical ids: `main` -> `ECSTaskDefinitionMain`, `IAMRoleMainAssume`. */
  id: string;
  /** Task family after the stack name: `<StackName>_<family>`. */
  family: string;
  /** Role name after the stack name: `<StackName>-<role>`. */
  role: string;
  description: string;
  /** The config entry whose name gives the ids, when two entries could give the same: `databases[0].name`. */
  path?: string;
}

export class TaskBuilder {
  readonly policy = new PolicyBuilder();
  readonly sidecar = new SidecarBuilder();
  readonly containers: ContainerDefinition[] = [];
  private mountsDockerSocket = false;

  constructor(
    private readonly ctx: BuildContext,
    readonly names: TaskNames,
  ) {}

  get taskDefinitionId(): string {
    return resourceId('AWS::ECS::TaskDefinition', this.names.id);
  }

  get roleId(): string {
    return resourceId('AWS::IAM::Role', `${this.names.id}Assume`);
  }

  addContainer(container: Container, path: string): ContainerDefinition {
    const definition = buildContainerDefinition(this.ctx, container, { policy: this.policy, sidecar: this.sidecar, path });
    this.mountsDockerSocket ||= container.mountDockerSocket;
    this.containers.push(definition);
    return definition;
  }

  container(name: string): ContainerDefinition | undefined {
    return this.containers.find((c) => c.Name === name);
  }

  /** Adds the role and the task definition to the template; returns the task definition's id. */
  addToTemplate(): string {
    const { ctx, names } = this;
    const family = `${ctx.app.name}_${names.family}`;
    ctx.template.addResource(this.roleId, this.policy.buildRole(names.role, family, names.description), names.path);

    const sidecar = this.sidecar.build(ctx.app.name);
    const volumes: CfnValue[] = [{ Name: SOCKETS_VOLUME }];
    if (this.mountsDockerSocket) volumes.push({ Name: DOCKER_SOCKET_VOLUME, Host: { SourcePath: '/var/run/docker.sock' } });

    return ctx.template.addResource(this.taskDefinitionId, {
      Type: 'AWS::ECS::TaskDefinition',
      Properties: {
        Family: join('_', [AWS_STACK_NAME, names.family]),
        ExecutionRoleArn: ref('ECSTaskExecutionRole'),
        TaskRoleArn: getAtt(this.roleId, 'Arn'),
        RequiresCompatibilities: ['EC2'],
        NetworkMode: 'bridge',
        Volumes: volumes,
        ContainerDefinitions: [...this.containers, ...(sidecar ? [sidecar] : [])].map(withoutEmptyLists),
        Tags: [
          { Key: 'o5-source', Value: ref('SourceTag') },
          { Key: 'o5-deployment-version', Value: ref('VersionTag') },
        ],
      },
    }, names.path);
  }
}

/** Drops empty lists (no secrets, no ports) so the template shows only what is there. */
function withoutEmptyLists(definition: ContainerDefinition): CfnValue {
  return Object.fromEntries(Object.entries(definition).filter(([, v]) => !(Array.isArray(v) && v.length === 0))) as CfnValue;
}
