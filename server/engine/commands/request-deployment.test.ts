// What a deployment request reads before it builds anything: its application config (a text is
// read once while it is remembered, and every caller still gets the config that text says, as its
// own copy), and its environment with its cluster (one statement).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../../test/support/deployer.ts';
import { registerDemoCluster } from '../../../test/support/deployments.ts';
import { readApplication as readApplicationDocument } from '../../domain/application/index.ts';
import { NotFoundError, ValidationError } from '../../domain/errors.ts';
import { environmentId } from '../../domain/ids.ts';
import { loadEnvironment, readApplication, readApplicationText } from './request-deployment.ts';

const text = (name: string, extra = '') =>
  `name: ${name}\nruntimes:\n  - name: main\n    containers: [{ name: main, image_url: x }]\n    routes:\n      - { prefix: /, protocol: ROUTE_PROTOCOL_HTTP${extra} }\n`;

describe('reading an application config sent as text', () => {
  it('gives what reading the text gives, again and again', () => {
    const yaml = text('remembered');
    expect(readApplicationText(yaml)).toEqual(readApplicationDocument(yaml, 'yaml'));
    expect(readApplicationText(yaml)).toEqual(readApplicationDocument(yaml, 'yaml'));
  });

  it('hands each caller its own copy: a change to one is not seen by the next', () => {
    const yaml = text('copied');
    const first = readApplicationText(yaml);
    first.application.name = 'changed';
    first.application.runtimes[0]!.routes.length = 0;
    first.warnings.length = 0;
    const second = readApplicationText(yaml);
    expect(second.application.name).toBe('copied');
    expect(second.application.runtimes[0]!.routes).toHaveLength(1);
    expect(second.warnings.map((w) => w.legacyKey)).toEqual(['image_url']);
  });

  it('reads a changed text anew: never the config of another text', () => {
    const before = readApplicationText(text('changing'));
    const after = readApplicationText(text('changing', ', bypass_ingress: true'));
    expect(before.application.runtimes[0]!.routes[0]!.bypassIngress).toBe(false);
    expect(after.application.runtimes[0]!.routes[0]!.bypassIngress).toBe(true);
    expect(after.warnings.map((w) => w.legacyKey)).toEqual(['image_url', 'bypass_ingress']);
    expect(readApplicationText(text('changing')).application).toEqual(before.application);
  });

  it('refuses an invalid text every time it is sent, with paths into the request', () => {
    const invalid = 'name: broken\nruntimes: [{ name: main, containers: [{ name: main }], wrong: 1 }]\n';
    for (let i = 0; i < 2; i++) {
      const error = (() => {
        try {
          readApplication({ applicationYaml: invalid });
        } catch (err) {
          return err;
        }
      })();
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues.every((issue) => issue.path?.startsWith('applicationYaml'))).toBe(true);
    }
  });
});

describe('loading the environment of a request', () => {
  let t: TestDeployer;
  beforeAll(async () => {
    t = await startTestDeployer();
    await registerDemoCluster(t);
  });
  afterAll(async () => {
    await t.stop();
  });

  it('finds it by name or by id, with its cluster', async () => {
    const { sql } = t.deployer.services;
    const byName = await loadEnvironment(sql, 'demo');
    expect(byName.environmentId).toBe(environmentId('demo'));
    expect(byName.environment.name).toBe('demo');
    expect(byName.clusterId).toBe(byName.environment.clusterId);
    expect(byName.cluster.name).toBe(byName.environment.clusterName);
    expect(byName.cluster.config).not.toBeNull();
    expect(await loadEnvironment(sql, environmentId('demo'))).toEqual(byName);
  });

  it('is a 404 for an unknown environment, and for one whose cluster is gone', async () => {
    const { sql } = t.deployer.services;
    await expect(loadEnvironment(sql, 'nowhere')).rejects.toThrow(new NotFoundError("environment 'nowhere' does not exist"));
    const { clusterId, environment } = await loadEnvironment(sql, 'demo');
    // The cluster's row removed in a transaction that then rolls back (by throwing), so the others see it still.
    const undo = new Error('undo');
    const removed = sql.begin(async (tx) => {
      await tx`delete from clusters where id = ${clusterId}`;
      await expect(loadEnvironment(tx, 'demo')).rejects.toThrow(new NotFoundError(`cluster '${environment.clusterName}' of environment 'demo' does not exist`));
      throw undo;
    });
    await expect(removed).rejects.toBe(undo);
    expect((await loadEnvironment(sql, 'demo')).clusterId).toBe(clusterId);
  });
});
