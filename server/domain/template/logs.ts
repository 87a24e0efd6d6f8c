/** Where containers log: CloudWatch Logs, one group per environment, app and container. */
import { AWS_REGION, join, ref, type CfnValue } from './cfn.ts';

/** awslogs to `ecs/<EnvName>/<app>/<container>`, streams prefixed with the container name. */
export function logConfiguration(appName: string, containerName: string): CfnValue {
  return {
    LogDriver: 'awslogs',
    Options: {
      'awslogs-group': join('/', ['ecs', ref('EnvName'), appName, containerName]),
      'awslogs-create-group': 'true',
      'awslogs-region': AWS_REGION,
      'awslogs-stream-prefix': containerName,
    },
  };
}
