/**
 * Lifts a hold or a freeze when its `until` has come. The job is written with the hold or freeze
 * itself, delayed to that time (server/domain/machines/jobs.ts, stopExpiryJob); one lifted by hand
 * before is gone, and the job then does nothing.
 */
import { derivedEventId } from '../../domain/ids.ts';
import type { JOB_STOP_EXPIRY } from '../../domain/machines/jobs.ts';
import type { Engine } from '../engine.ts';
import { readEntity } from '../entities.ts';
import type { JobContext, Settlement } from '../jobs.ts';

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
