/**
 * Database migration tasks: a database with a migrate container gets its own task
 * definition (and role, and sidecar if the database is reached through the IAM proxy), run once per
 * deployment by the DB.Migrate step, which finds it through the `MigrationTaskDefinition<Key>` output.
 */
import { ref } from './cfn.ts';
import type { BuildContext } from './context.ts';
import { databaseKey, type DatabaseResource } from './databases.ts';
import { TaskBuilder } from './task.ts';

export function mapMigrations(ctx: BuildContext, databases: DatabaseResource[]): void {
  for (const resource of databases) {
    const database = ctx.app.databases.find((d) => d.name === resource.appKey)!;
    const container = database.postgres.migrateContainer;
    if (!container) continue;
    const task = new TaskBuilder(ctx, {
      // o5's names: task `ECSTaskDefinitionMigrate<Db>`, family `<stack>_migrate_<db>`, role `<stack>-migrate_<db>`.
      id: `migrate_${database.name}`,
      family: `migrate_${database.name}`,
      role: `migrate_${database.name}`,
      description: `Task role of the migration of database ${database.name} of ${ctx.app.name}`,
      path: `${resource.path}.name`,
    });
    task.addContainer(container, `${resource.path}.postgres.migrateContainer`);
    const taskDefinitionId = task.addToTemplate();
    const outputName = `MigrationTaskDefinition${databaseKey(database.name)}`;
    ctx.template.addOutput(outputName, ref(taskDefinitionId), `ARN of the migration task definition of database ${database.name}`);
    resource.migrationTaskOutputName = outputName;
  }
}
