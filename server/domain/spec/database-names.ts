/**
 * A database's name on its server, `<env>_<app>_<suffix>` with every other character than a letter
 * or digit turned into `_` (o5's name, which adopted stacks depend on), is also the name of its role.
 * Two stacks can make the same name (environment `prod-eu`, app `shop`, suffix `main`, and
 * environment `prod`, app `eu`, suffix `shop_main`, both make `prod_eu_shop_main`); on one server
 * the second one's upsert would then set a new password on the first one's role and migrate, and
 * could drop, the first one's database. A request is refused when another stack's database already
 * has its name on the same server (server/engine/commands/request-deployment.ts); this module says
 * which stacks could have made a name, so that only their deployments are looked at.
 */
import type { PostgresSpec } from './database-specs.ts';

export interface StackNaming {
  environmentName: string;
  applicationName: string;
}

/**
 * Every (environment, application) whose databases are named with this prefix: one per `_` of the
 * name that can end the application's part and leave a suffix after it. An application name has
 * no `-` or `_` (^[a-z][a-z0-9]+$, server/domain/application/application.ts) and an environment's
 * has `-` but no `_` (^[a-z][a-z0-9-]+$, server/domain/config/environment.ts), so each such `_` gives
 * exactly one pair: the application is the part just before it, the environment what comes before
 * that with its `_` read back as `-`. Any stack that can make the name is in the list.
 */
export function stacksThatCouldName(fullDbName: string): StackNaming[] {
  const parts = fullDbName.split('_');
  const stacks: StackNaming[] = [];
  // parts[j] is the application's part; at least one part before it (the environment) and one after (the suffix).
  for (let j = 1; j < parts.length - 1; j++) {
    const applicationName = parts[j]!;
    const environmentName = parts.slice(0, j).join('-');
    if (applicationName === '' || environmentName === '') continue;
    stacks.push({ environmentName, applicationName });
  }
  return stacks;
}

/** A database of the request, and the stacks other than its own that could make its name. */
export interface DatabaseNameClaim {
  /** The database's key in the app config. */
  appKey: string;
  fullDbName: string;
  serverGroup: string;
  /**
   * The advisory lock every request naming this database takes, the same for all: per name, not per
   * server, since servers are compared by their host across clusters (request-deployment.ts).
   */
  lockKey: string;
}

/**
 * What a deployment of `own` has to check for its databases: the names that another stack could
 * also make, and those stacks. Most names can be made by their own stack only, and need no check:
 * then both lists are empty.
 */
export function databaseNameClaims(
  own: StackNaming,
  databases: readonly Pick<PostgresSpec, 'appKey' | 'fullDbName' | 'serverGroup'>[],
): { claims: DatabaseNameClaim[]; otherStacks: StackNaming[] } {
  const claims: DatabaseNameClaim[] = [];
  const others = new Map<string, StackNaming>();
  for (const db of databases) {
    const stacks = stacksThatCouldName(db.fullDbName).filter((s) => s.environmentName !== own.environmentName || s.applicationName !== own.applicationName);
    if (stacks.length === 0) continue;
    for (const s of stacks) others.set(`${s.environmentName}-${s.applicationName}`, s);
    claims.push({
      appKey: db.appKey,
      fullDbName: db.fullDbName,
      serverGroup: db.serverGroup,
      lockKey: `o5-deployer/database-name/${db.fullDbName}`,
    });
  }
  // Locks are taken in this order by every request, so two requests with two names each cannot wait on each other.
  claims.sort((a, b) => (a.lockKey < b.lockKey ? -1 : a.lockKey > b.lockKey ? 1 : 0));
  return { claims, otherStacks: [...others.values()] };
}

/** A database of another stack that has the name a request wants. */
export interface DatabaseNameHolder {
  environmentName: string;
  applicationName: string;
  appKey: string;
  fullDbName: string;
  serverGroup: string;
}

/** Why a database's name is refused: the stack, and its database, that has it on the same server. */
export function databaseNameTakenMessage(clusterName: string, holder: DatabaseNameHolder): string {
  return (
    `The database name "${holder.fullDbName}" on server group ${holder.serverGroup} of cluster ${clusterName} is already that of database ` +
    `"${holder.appKey}" of stack ${holder.environmentName}-${holder.applicationName} (environment ${holder.environmentName}, application ${holder.applicationName}); ` +
    `deploying would take over its role and its data: choose another dbNameSuffix`
  );
}
