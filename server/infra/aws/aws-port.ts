/** The port's calls over one AWS context (one region, one set of credentials); index.ts and provider.ts build the context. */
import type { InfraPort } from '../port.ts';
import * as changeSets from './change-sets.ts';
import { destroyClients, type AwsContext } from './context.ts';
import * as databases from './databases.ts';
import { listenerRulePriorities } from './listener-rules.ts';
import * as stacks from './stacks.ts';
import * as tasks from './tasks.ts';
import { storeTemplate } from './templates-s3.ts';

export function portOf(ctx: AwsContext): InfraPort {
  return {
    kind: 'aws',
    storeTemplate: (input) => storeTemplate(ctx, input),

    describeStack: (stackName) => stacks.describeStack(ctx, stackName),
    stackTemplate: (stackName) => stacks.stackTemplate(ctx, stackName),
    templateParameters: (templateUrl) => stacks.templateParameters(ctx, templateUrl),
    createEmptyStack: (input) => stacks.createEmptyStack(ctx, input),
    updateStack: (input) => stacks.updateStack(ctx, input),
    scaleStack: (input) => stacks.scaleStack(ctx, input),
    setStackParameters: (input) => stacks.setStackParameters(ctx, input),
    cancelStackUpdate: (input) => stacks.cancelStackUpdate(ctx, input),
    continueUpdateRollback: (input) => stacks.continueUpdateRollback(ctx, input),
    deleteStack: (input) => stacks.deleteStack(ctx, input),

    createImportChangeSet: (input) => changeSets.createImportChangeSet(ctx, input),
    describeChangeSet: (input) => changeSets.describeChangeSet(ctx, input),
    executeChangeSet: (input) => changeSets.executeChangeSet(ctx, input),
    createChangeSet: (input) => changeSets.createChangeSet(ctx, input),
    deleteChangeSet: (input) => changeSets.deleteChangeSet(ctx, input),

    listenerRulePriorities: (listenerArn) => listenerRulePriorities(ctx, listenerArn),

    runTask: (input) => tasks.runTask(ctx, input),
    describeTask: (input) => tasks.describeTask(ctx, input),
    stopTask: (input) => tasks.stopTask(ctx, input),
    findRunningTasks: (input) => tasks.findRunningTasks(ctx, input),
    taskLogConfiguration: (input) => tasks.taskLogConfiguration(ctx, input),

    upsertDatabase: (input) => databases.upsertDatabase(ctx, input),
    cleanupDatabase: (input) => databases.cleanupDatabase(ctx, input),
    destroyDatabase: (input) => databases.destroyDatabase(ctx, input),
    cancelDatabaseOperation: (input) => databases.cancelDatabaseOperation(ctx, input),

    close: async () => destroyClients(ctx.clients),
  };
}
