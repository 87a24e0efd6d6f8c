/**
 * Lifts a hold or a freeze when its `until` has come. The job is written with the hold or freeze
 * itself, delayed to that time (server/domain/machines/jobs.ts, stopExpiryJob); one lifted by hand
 * before is gone, and the job then does nothing. Should the job go missing, the sweep lifts what is
 * overdue (liftOverdueStops) with the same event ids, so the two never lift one stop twice.
 */
import type { TransactionSql } from 'postgres';
import { derivedEventId } from '../../domain/ids.ts';
import type { JOB_STOP_EXPIRY } from '../../domain/machines/jobs.ts';
import type { Engine } from '../engine.ts';
import { readEntity } from '../entities.ts';
import type { JobContext, Settlement } from '../jobs.ts';
import { inSavepoint, type AppliedTransition, type Cause } from '../state-store.ts';

/** A stop this long past its `until` has lost its job (which runs within a second or two of it). */
const OVERDUE_SECONDS = 30;

export async function handleStopExpiryJob(engine: Engine, job: JobContext<typeof JOB_STOP_EXPIRY>): Promise<Settlement<typeof JOB_STOP_EXPIRY>> {
  const { machine, entityId, stopId } = job.data;
  // The same id whichever process or retry lifts it: a second apply is a no-op.
  const eventId = derivedEventId(stopId, 'expired');
  if (machine === 'stack') {
    const stack = await readEntity(engine.deps.sql, 'stack', entityId);
    if (!stack?.data.holds?.some((h) => h.id === stopId)) return { kind: 'finish' };
    return { kind: 'finish', apply: { machine: 'stack', id: entityId, eventId, event: { type: 'hold_lifted', holdId: stopId, by: 'expiry', expired: true } } };
  }
  const environment = await readEntity(engine.deps.sql, 'environment', entityId);
  if (!environment?.data.freezes?.some((f) => f.id === stopId)) return { kind: 'finish' };
  return { kind: 'finish', apply: { machine: 'environment', id: entityId, eventId, event: { type: 'freeze_lifted', freezeId: stopId, by: 'expiry', expired: true } } };
}

/** For the sweep (sweep.ts): lifts every hold and freeze whose expiry job should long have run. */
export async function liftOverdueStops(engine: Engine, tx: TransactionSql, applied: AppliedTransition[], cause: Cause): Promise<number> {
  const overdue = await tx<{ machine: 'stack' | 'environment'; entity_id: string; stop_id: string }[]>`
    select 'stack' as machine, s.id::text as entity_id, h->>'id' as stop_id
    from stacks s cross join lateral jsonb_array_elements(coalesce(s.data->'holds', '[]'::jsonb)) h
    where (h->>'until')::timestamptz < now() - make_interval(secs => ${OVERDUE_SECONDS})
    union all
    select 'environment', e.id::text, f->>'id'
    from environments e cross join lateral jsonb_array_elements(coalesce(e.data->'freezes', '[]'::jsonb)) f
    where (f->>'until')::timestamptz < now() - make_interval(secs => ${OVERDUE_SECONDS})`;
  let lifted = 0;
  for (const stop of overdue) {
    const eventId = derivedEventId(stop.stop_id, 'expired');
    // Each in a savepoint: one that changed meanwhile (lifted by hand at this moment) is left; the others are lifted.
    try {
      await inSavepoint(tx, applied, async (sp) => {
        if (stop.machine === 'stack') {
          await engine.store.apply(sp, 'stack', stop.entity_id, { eventId, event: { type: 'hold_lifted', holdId: stop.stop_id, by: 'expiry', expired: true }, cause }, applied);
        } else {
          await engine.store.apply(sp, 'environment', stop.entity_id, { eventId, event: { type: 'freeze_lifted', freezeId: stop.stop_id, by: 'expiry', expired: true }, cause }, applied);
        }
      });
      lifted++;
    } catch (err) {
      engine.deps.logger.warn({ err, [stop.machine]: stop.entity_id, stopId: stop.stop_id }, 'sweep: an overdue hold or freeze left as it is (it changed meanwhile)');
    }
  }
  return lifted;
}
