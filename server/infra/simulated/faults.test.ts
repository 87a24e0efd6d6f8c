/**
 * Fault parsing, the request schema, step matching on client tokens, and the fault store on a real
 * Postgres, including two processes racing for the last strike.
 */
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.ts';
import { ValidationError } from '../../domain/errors.ts';
import { clientTokenFor } from '../client-token.ts';
import {
  addFault,
  CallDelayed,
  callFaults,
  clearFaults,
  faultMatchesStep,
  FaultRequestSchema,
  listFaults,
  parseFault,
  strikeFaults,
  takeDelayStrike,
} from './faults.ts';
import { simulatorDb } from './store.ts';

describe('parseFault', () => {
  it('reads every kind of fault', () => {
    expect(parseFault('fail')).toEqual({ kind: 'fail' });
    expect(parseFault('rollback')).toEqual({ kind: 'rollback' });
    expect(parseFault('createFailed')).toEqual({ kind: 'createFailed' });
    expect(parseFault('hang')).toEqual({ kind: 'hang' });
    expect(parseFault('exitCode:3')).toEqual({ kind: 'exitCode', code: 3 });
    expect(parseFault('exitCode:0')).toEqual({ kind: 'exitCode', code: 0 });
    expect(parseFault(' latencyMs:5000 ')).toEqual({ kind: 'latencyMs', ms: 5000 });
    expect(parseFault('callDelayMs:250')).toEqual({ kind: 'callDelayMs', ms: 250 });
    expect(parseFault('placement:RESOURCE:MEMORY')).toEqual({ kind: 'placement', reason: 'RESOURCE:MEMORY' });
    expect(parseFault('placement:MISSING')).toEqual({ kind: 'placement', reason: 'MISSING' });
  });

  it('rejects anything else with a message that lists what exists', () => {
    for (const text of ['explode', 'Rollback', 'exitCode', 'exitCode:-1', 'exitCode:x', 'latencyMs:1.5', 'callDelayMs', 'callDelayMs:-5', 'calldelayms:5', 'placement', 'placement:', '']) {
      expect(() => parseFault(text), text).toThrow(ValidationError);
    }
    expect(() => parseFault('explode')).toThrow(
      'Unknown fault "explode": expected one of fail, rollback, createFailed, hang, exitCode:<0-255>, latencyMs:<milliseconds>, callDelayMs:<milliseconds>, placement:<ECS failure reason>',
    );
    expect(() => parseFault('exitCode:256')).toThrow('an exit code is between 0 and 255');
  });
});

describe('FaultRequestSchema', () => {
  it('accepts the documented body and refuses unknown faults and bad counts', () => {
    expect(FaultRequestSchema.parse({ step: 'DB.Migrate.main', fault: 'exitCode:3', times: 1 })).toEqual({
      step: 'DB.Migrate.main',
      fault: 'exitCode:3',
      times: 1,
    });
    const unknown = FaultRequestSchema.safeParse({ fault: 'explode' });
    expect(unknown.success).toBe(false);
    expect(unknown.error!.issues[0]).toMatchObject({ path: ['fault'], message: expect.stringContaining('Unknown fault "explode"') });
    expect(FaultRequestSchema.safeParse({ fault: 'fail', times: 0 }).success).toBe(false);
    expect(FaultRequestSchema.safeParse({ fault: 'fail', stack: '' }).success).toBe(false);
  });
});

describe('faultMatchesStep', () => {
  const deploymentId = '0b5b0b32-4e5e-4f63-a1a4-1c3c2f7c9d10';

  it('matches the token clientTokenFor derives for that step, whatever the deployment', () => {
    expect(faultMatchesStep('DB.Migrate.main', clientTokenFor(deploymentId, 'DB.Migrate.main'))).toBe(true);
    expect(faultMatchesStep('DB.Migrate.main', clientTokenFor(randomUUID(), 'DB.Migrate.main'))).toBe(true);
    expect(faultMatchesStep('CF.Update', clientTokenFor(deploymentId, 'CF.Update'))).toBe(true);
  });

  it('does not match other steps, steps that merely start alike, or tokens of another shape', () => {
    expect(faultMatchesStep('DB.Migrate.main', clientTokenFor(deploymentId, 'DB.Upsert.main'))).toBe(false);
    expect(faultMatchesStep('DB.Migrate.main', clientTokenFor(deploymentId, 'DB.Migrate.main2'))).toBe(false);
    expect(faultMatchesStep('CF.Update', clientTokenFor(deploymentId, 'CF.Update.cancel'))).toBe(false);
    expect(faultMatchesStep('CF.Update', 'o5-deploy-CF-Update')).toBe(false);
    expect(faultMatchesStep('', clientTokenFor(deploymentId, 'CF.Update'))).toBe(false);
  });
});

describe('the fault store', () => {
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase();
  });
  afterAll(async () => {
    await testDb.drop();
  });
  beforeEach(async () => {
    await clearFaults(testDb.sql);
  });

  it('adds, lists (oldest first) and clears faults', async () => {
    const a = await addFault(testDb.sql, { stack: 'dev-shop', fault: 'rollback', times: 2 });
    const b = await addFault(testDb.sql, { step: 'DB.Migrate.main', fault: 'exitCode:3' });
    expect(a).toMatchObject({ stack: 'dev-shop', fault: 'rollback', times: 2, remaining: 2 });
    expect(b).toMatchObject({ step: 'DB.Migrate.main', fault: 'exitCode:3', remaining: null });
    expect(b).not.toHaveProperty('stack');
    expect(b).not.toHaveProperty('times');
    expect((await listFaults(testDb.sql)).map((f) => f.id)).toEqual([a.id, b.id]);
    expect(await clearFaults(testDb.sql)).toBe(2);
    expect(await listFaults(testDb.sql)).toEqual([]);
  });

  it('refuses an unknown fault', async () => {
    await expect(addFault(testDb.sql, { fault: 'explode' })).rejects.toThrow(ValidationError);
    await expect(addFault(testDb.sql, { fault: 'explode' })).rejects.toThrow('fault: Unknown fault "explode"');
    await expect(addFault(testDb.sql, { fault: 'fail', times: 0 })).rejects.toThrow(ValidationError);
    expect(await listFaults(testDb.sql)).toEqual([]);
  });

  it('strikes `times` times and then never again', async () => {
    const fault = await addFault(testDb.sql, { fault: 'fail', times: 2 });
    const db = simulatorDb(testDb.sql);
    const target = { inStack: () => true, clientToken: 'dabc-x', applies: ['fail' as const] };
    const strikes = [];
    for (let i = 0; i < 3; i++) strikes.push(await strikeFaults(db, target));
    expect(strikes.map((s) => s.outcome?.id)).toEqual([fault.id, fault.id, undefined]);
    expect((await listFaults(testDb.sql))[0].remaining).toBe(0);
  });

  it('takes the oldest fault that applies, and one latency fault besides', async () => {
    const exitCode = await addFault(testDb.sql, { fault: 'exitCode:4' });
    const hang = await addFault(testDb.sql, { fault: 'hang' });
    const latency = await addFault(testDb.sql, { fault: 'latencyMs:10' });
    await addFault(testDb.sql, { fault: 'latencyMs:20' });
    const strikes = await strikeFaults(simulatorDb(testDb.sql), {
      inStack: () => true,
      clientToken: 'dabc-x',
      applies: ['hang', 'fail', 'latencyMs'],
    });
    expect(strikes).toEqual({ outcome: { id: hang.id, fault: { kind: 'hang' } }, latencyMs: 10, faultIds: [hang.id, latency.id] });
    expect((await listFaults(testDb.sql)).find((f) => f.id === exitCode.id)).toBeDefined();
  });

  it('a callDelayMs fault delays only a call still to be delayed: the oldest that hits it, once per strike', async () => {
    const otherStep = await addFault(testDb.sql, { step: 'CF.Update', fault: 'callDelayMs:5' });
    const first = await addFault(testDb.sql, { stack: 'dev-shop', fault: 'callDelayMs:40', times: 1 });
    await addFault(testDb.sql, { fault: 'callDelayMs:70', times: 1 });
    const db = simulatorDb(testDb.sql);
    // Operation faults pass it by, whatever they apply to.
    expect(await strikeFaults(db, { inStack: () => true, clientToken: 'dabc-x', applies: ['hang', 'fail', 'latencyMs'] })).toEqual({ faultIds: [] });
    const call = { inStack: (stack: string) => stack === 'dev-shop', clientToken: clientTokenFor(randomUUID(), 'ScaleUp') };
    // A call reads the faults; one that delays it throws, and the call takes its strike (index.ts).
    const delayOf = async (callDelay?: typeof call) => {
      const delayed = await callFaults(db, { ...(callDelay && { callDelay }) }).then(
        () => undefined,
        (err: unknown) => (err instanceof CallDelayed ? err : Promise.reject(err)),
      );
      return delayed && (await takeDelayStrike(db, delayed)) ? delayed.ms : 0;
    };
    // A call that was delayed already looks for no delay.
    expect(await delayOf()).toBe(0);
    expect([await delayOf(call), await delayOf(call), await delayOf(call)]).toEqual([40, 70, 0]);
    const faults = await listFaults(testDb.sql);
    expect(faults.find((f) => f.id === first.id)!.remaining).toBe(0);
    expect(faults.find((f) => f.id === otherStep.id)!.remaining).toBeNull();
  });

  it('never gives the last strike to two processes', async () => {
    const fault = await addFault(testDb.sql, { fault: 'fail', times: 3 });
    const pools = [postgres(testDb.url, { max: 4, onnotice: () => {} }), postgres(testDb.url, { max: 4, onnotice: () => {} })];
    try {
      const attempts = Array.from({ length: 24 }, (_, i) =>
        simulatorDb(pools[i % 2]).transaction((tx) =>
          strikeFaults(tx, { inStack: () => true, clientToken: `d000000000000-step${i}`, applies: ['fail'] }),
        ),
      );
      const struck = (await Promise.all(attempts)).filter((s) => s.outcome?.id === fault.id);
      expect(struck).toHaveLength(3);
      expect((await listFaults(testDb.sql))[0].remaining).toBe(0);
    } finally {
      await Promise.all(pools.map((p) => p.end({ timeout: 5 })));
    }
  });
});
