/**
 * Engine.transaction completing a job: the job's completion is part of the transaction, so a
 * completion that fails takes the work down with it, and nothing of it is left behind. And claiming
 * the jobs its last writes make due in the same round trip as those writes (`claimWithWrites`).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDeployer, type TestDeployer } from '../../test/support/deployer.ts';
import { beginPipelined } from '../../db/pipelined-transaction.ts';
import { deploy, registerDemoCluster, waitFor } from '../../test/support/deployments.ts';
import { connectionPort, socketWritesDuring } from '../../test/support/socket-writes.ts';
import { newId } from '../domain/ids.ts';
import { JOB_STATUS_REPORT, type Queue } from '../domain/machines/jobs.ts';
import { readEntity } from './entities.ts';
import { sendJob } from './jobs.ts';

let t: TestDeployer;

beforeAll(async () => {
  t = await startTestDeployer();
});
afterAll(() => t.stop());

describe('Engine.transaction completing a job', () => {
  const stored = async (key: string) => (await t.deployer.services.sql`select 1 from sim_templates where key = ${key}`).length;
  const write = (key: string) => (tx: Parameters<Parameters<typeof t.deployer.services.engine.transaction>[0]>[0]) =>
    tx`insert into sim_templates (key, url, body_sha256, stored_at) values (${key}, ${`sim://${key}`}, encode(sha256('{}'), 'hex'), now())`;

  it('rolls the work back when the completion fails', async () => {
    const key = `engine-test/${randomUUID()}`;
    // A job of a queue pg-boss does not have: completing it fails.
    const job = { queue: 'no-such-queue' as Queue, id: randomUUID() };
    await expect(t.deployer.services.engine.transaction(write(key), { completes: job })).rejects.toThrow();
    expect(await stored(key)).toBe(0);
  });

  it('commits the work and completes the job when both succeed', async () => {
    const { engine, sql } = t.deployer.services;
    const key = `engine-test/${randomUUID()}`;
    const jobId = await engine.deps.boss.send(JOB_STATUS_REPORT, { deploymentId: randomUUID(), status: 'DONE' }, { startAfter: 3600 });
    // As a runner holds it once fetched (the delay keeps the real runner away from it).
    await sql`update pgboss.job set state = 'active', started_on = now() where id = ${jobId}`;
    await engine.transaction(write(key), { completes: { queue: JOB_STATUS_REPORT, id: jobId! } });
    expect(await stored(key)).toBe(1);
    const [row] = await sql`select state from pgboss.job where id = ${jobId}`;
    expect(row!.state).toBe('completed');
  });
});

describe('Engine.transaction claiming with the last writes (claimWithWrites)', () => {
  /** Status-report jobs this process started, by how they reached its runner. */
  const started = async (via: 'transaction' | 'fetch') =>
    (await t.deployer.services.metrics.jobsStarted.get()).values.find((v) => v.labels.queue === JOB_STATUS_REPORT && v.labels.via === via)?.value ?? 0;

  it('asks the writes, the claim of the job they make due and the COMMIT in one socket write, and runs the job', async () => {
    const { engine, sql } = t.deployer.services;
    const before = await started('transaction');
    const jobIds: Array<string | null> = [];
    const claimWithTheWrites = async () => {
      let port = 0;
      const { byPort } = await socketWritesDuring(() =>
        engine.transaction(
          async (tx) => {
            port = await connectionPort(tx);
            engine.claimWithLastWrites(tx, [{ queue: JOB_STATUS_REPORT }]);
            // A report for no deployment: its handler has nothing to do, and finishes.
            const job = { kind: 'job', queue: JOB_STATUS_REPORT, data: { deploymentId: randomUUID(), status: 'DONE' } } as const;
            jobIds.push(await sendJob(engine.deps.boss, tx, job, (queue, id) => engine.madeDue(tx, queue, [id])));
          },
          { claimWithWrites: true },
        ),
      );
      return byPort.get(port);
    };
    // The first on a connection has its statements described first (they are prepared once per connection).
    await claimWithTheWrites();
    await expect.poll(() => started('transaction')).toBe(before + 1);
    let writes = await claimWithTheWrites();
    // The pool hands out its idle connections in turn, and one new to these statements describes
    // them first: once more then, until one that knows them comes round.
    for (let tries = 0; writes !== 2 && tries < 40; tries++) writes = await claimWithTheWrites();
    // BEGIN with the first statement; the job's insert, its fetch and the COMMIT together.
    expect(writes).toBe(2);
    await expect.poll(() => started('transaction')).toBe(before + jobIds.length);
    await expect.poll(async () => (await sql`select count(*)::int as n from pgboss.job where id = any(${jobIds}::uuid[]) and state = 'completed'`)[0]!.n).toBe(jobIds.length);
  });

  it('with nothing to claim, asks the COMMIT alone with the last writes', async () => {
    const { engine, sql } = t.deployer.services;
    const keys: string[] = [];
    const commitWithTheWrites = async () => {
      const key = `engine-test/${randomUUID()}`;
      keys.push(key);
      let port = 0;
      const { byPort } = await socketWritesDuring(() =>
        engine.transaction(
          async (tx) => {
            port = await connectionPort(tx);
            engine.claimWithLastWrites(tx, []);
            await tx`insert into sim_templates (key, url, body_sha256, stored_at) values (${key}, ${`sim://${key}`}, encode(sha256('{}'), 'hex'), now())`;
          },
          { claimWithWrites: true },
        ),
      );
      return byPort.get(port);
    };
    let writes = await commitWithTheWrites();
    // As above: until a connection that knows the statements comes round.
    for (let tries = 0; writes !== 2 && tries < 40; tries++) writes = await commitWithTheWrites();
    expect(writes).toBe(2);
    expect((await sql`select count(*)::int as n from sim_templates where key = any(${keys})`)[0]!.n).toBe(keys.length);
  });

  it('writes nothing when its last writes fail, claims nothing, and gives every slot back', async () => {
    const { engine, sql } = t.deployer.services;
    await expect.poll(() => engine.roomOf(JOB_STATUS_REPORT)).toBe(t.deployer.services.config.workerConcurrency);
    const before = await started('transaction');
    const key = `engine-test/${randomUUID()}`;
    await expect(
      engine.transaction(
        async (tx) => {
          await tx`insert into sim_templates (key, url, body_sha256, stored_at) values (${key}, ${`sim://${key}`}, encode(sha256('{}'), 'hex'), now())`;
          engine.claimWithLastWrites(tx, [{ queue: JOB_STATUS_REPORT }]);
          const job = { kind: 'job', queue: JOB_STATUS_REPORT, data: { deploymentId: randomUUID(), status: 'DONE' } } as const;
          // The job, and then a statement that fails (not one worth a retry), with the claim behind it.
          await Promise.all([
            sendJob(engine.deps.boss, tx, job, (queue, id) => engine.madeDue(tx, queue, [id])),
            tx`select 1 / 0`.execute(),
          ]);
        },
        { claimWithWrites: true },
      ),
    ).rejects.toThrow(/division by zero/);
    expect((await sql`select 1 from sim_templates where key = ${key}`).length).toBe(0);
    expect(await started('transaction')).toBe(before);
    expect(engine.roomOf(JOB_STATUS_REPORT)).toBe(t.deployer.services.config.workerConcurrency);
  });
});

describe('Engine.finishJob with the deployment its claim handed over', () => {
  const cause = { kind: 'command' as const, name: 'test' };
  /** A status-report job as a runner holds it (the delay keeps the real runner away from it). */
  const heldJob = async () => {
    const { engine, sql } = t.deployer.services;
    const id = await engine.deps.boss.send(JOB_STATUS_REPORT, { deploymentId: randomUUID(), status: 'DONE' }, { startAfter: 3600 });
    await sql`update pgboss.job set state = 'active', started_on = now() where id = ${id}`;
    return { queue: JOB_STATUS_REPORT as Queue, id: id! };
  };
  const sequences = async (id: string) => (await t.deployer.services.sql`select sequence from deployment_events where entity_id = ${id} order by sequence`).map((r) => r.sequence as number);
  const jobState = async (id: string) => (await t.deployer.services.sql`select state from pgboss.job where id = ${id}`)[0]!.state;
  /** How many results were applied on a handed-over deployment, by outcome (the engine's metric). */
  const onHandedState = async (outcome: 'applied' | 'moved') =>
    (await t.deployer.services.metrics.resultsOnHandedState.get()).values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
  let deploymentId = '';

  beforeAll(async () => {
    await registerDemoCluster(t);
    deploymentId = (await deploy(t.client, { version: 'finish-job' })).id;
    expect((await waitFor(t.client, deploymentId)).status).toBe('DONE');
  });

  it('applies the result on it unread when it is current', async () => {
    const { engine, sql } = t.deployer.services;
    const current = (await readEntity(sql, 'deployment', deploymentId))!;
    const job = await heldJob();
    const [applied, moved] = [await onHandedState('applied'), await onHandedState('moved')];
    await engine.finishJob({ ...job, deployment: current }, { apply: { machine: 'deployment', id: deploymentId, eventId: newId(), event: { type: 'terminated', reason: 'first' } } });
    const after = (await readEntity(sql, 'deployment', deploymentId))!;
    // A terminate of an ended deployment is recorded, and its outcome stands.
    expect(after).toMatchObject({ status: 'DONE', version: current.version + 1, data: current.data });
    expect(await sequences(deploymentId)).toEqual(Array.from({ length: current.version + 1 }, (_, i) => i + 1));
    expect(await jobState(job.id)).toBe('completed');
    expect([await onHandedState('applied'), await onHandedState('moved')]).toEqual([applied + 1, moved]);
  });

  it('reads it again when it has moved since, and applies the result once, on the state it has', async () => {
    const { engine, sql } = t.deployer.services;
    const stale = (await readEntity(sql, 'deployment', deploymentId))!;
    // Moved after the claim handed it over (a terminate, a sibling step's result).
    await engine.apply('deployment', deploymentId, { type: 'terminated', reason: 'meanwhile' }, cause);
    const moved = (await readEntity(sql, 'deployment', deploymentId))!;
    const job = await heldJob();
    const eventId = newId();
    const [appliedBefore, movedBefore] = [await onHandedState('applied'), await onHandedState('moved')];
    await engine.finishJob({ ...job, deployment: stale }, { apply: { machine: 'deployment', id: deploymentId, eventId, event: { type: 'terminated', reason: 'late' } } });
    const after = (await readEntity(sql, 'deployment', deploymentId))!;
    expect(after.version).toBe(moved.version + 1);
    // A terminate of an ended deployment changes nothing but its history.
    expect(after).toMatchObject({ status: 'DONE', data: moved.data });
    expect(await sequences(deploymentId)).toEqual(Array.from({ length: moved.version + 1 }, (_, i) => i + 1));
    expect((await sql`select count(*)::int as n from deployment_events where event_id = ${eventId}`)[0]!.n).toBe(1);
    expect(await jobState(job.id)).toBe('completed');
    // The try on the handed state failed; the result went in on the read.
    expect([await onHandedState('applied'), await onHandedState('moved')]).toEqual([appliedBefore, movedBefore + 1]);
  });

  it('says why a try on a state that moved failed, also where a read of what it links came first (40001, not "transaction aborted")', async () => {
    const { engine, sql } = t.deployer.services;
    // An environment's policy reaches its stacks (a link): the stack is read after the guard.
    const [{ id: environmentId }] = await sql<{ id: string }[]>`select id from environments where name = 'demo'`;
    const stale = (await readEntity(sql, 'environment', environmentId))!;
    expect(stale.data.stacks?.length ?? 0).toBeGreaterThan(0);
    await engine.apply('environment', environmentId, { type: 'policy_set', queue: 'fifo', by: 'test' }, cause);
    const attempt = beginPipelined(sql, (tx) =>
      engine.store.apply(tx, 'environment', environmentId, { eventId: newId(), event: { type: 'policy_set', queue: 'fifo', by: 'stale' }, cause }, [], { assumed: stale }),
    );
    await expect(attempt).rejects.toMatchObject({ code: '40001', message: expect.stringContaining('moved since it was read') });
  });

  it('reads it where another step ran beside the finishing one (its result has likely moved it)', async () => {
    const { engine, sql } = t.deployer.services;
    const current = (await readEntity(sql, 'deployment', deploymentId))!;
    const twoRunning = { ...current, data: { ...current.data, steps: current.data.steps.map((step) => ({ ...step, status: 'ACTIVE' as const })) } };
    const job = await heldJob();
    const [applied, moved] = [await onHandedState('applied'), await onHandedState('moved')];
    await engine.finishJob({ ...job, deployment: twoRunning }, { apply: { machine: 'deployment', id: deploymentId, eventId: newId(), event: { type: 'terminated', reason: 'beside' } } });
    expect((await readEntity(sql, 'deployment', deploymentId))!.version).toBe(current.version + 1);
    expect([await onHandedState('applied'), await onHandedState('moved')]).toEqual([applied, moved]);
  });
});
