/**
 * Application secrets: one empty Secrets Manager secret per declared secret,
 * named `/<EnvName>/<app>/<name>` and kept when the stack goes; its value is set by hand.
 */
import { join, ref, resourceId, titleCase } from './cfn.ts';
import type { BuildContext } from './context.ts';

export function mapSecrets(ctx: BuildContext): void {
  ctx.app.secrets.forEach((secret, index) => {
    const logicalId = ctx.template.addResource(resourceId('AWS::SecretsManager::Secret', `AppSecret${titleCase(secret.name)}`), {
      Type: 'AWS::SecretsManager::Secret',
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        Name: join('/', ['', ref('EnvName'), ctx.app.name, secret.name]),
        Description: `Application secret ${secret.name} of ${ctx.app.name}; its value is set by hand`,
      },
    }, `secrets[${index}].name`);
    ctx.secrets.set(secret.name, { arn: ref(logicalId) });
  });
}
