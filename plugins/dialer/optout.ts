import type { Db } from '../../core/db';
import { optOut } from '../contacts/dnc';
import { liveCallStatuses, logDecision } from './outcomes';


// A person's stop request, honoured at once across every campaign of the tenant: the number on
// the do-not-call list (with the call it came from), and its jobs still waiting to dial cancelled.
// A call back the agent scheduled on a call still going on is dropped too: its end would
// otherwise schedule the job again. A call already placed to the number goes on; the job it ends
// into is refused as dnc when its time comes.

export const honourOptOut = async (db: Db, now: Date, request: { tenantId: string; phoneNumber: string; reason: string; callId: string | null }) => {

    return await db.transaction(async (trx) => {

        await optOut(trx, request.tenantId, { phone_number: request.phoneNumber, reason: request.reason, call_id: request.callId });
        await trx('calls')
            .where({ tenant_id: request.tenantId, to_number: request.phoneNumber })
            .whereIn('status', liveCallStatuses)
            .whereNotNull('callback_at')
            .update({ callback_at: null, updated_at: now });

        return await trx('dialer_jobs')
            .where({ tenant_id: request.tenantId })
            .whereIn('status', ['pending', 'retry_scheduled'])
            .whereIn('lead_id', trx('leads').where({ tenant_id: request.tenantId, phone_number: request.phoneNumber }).select('id'))
            .update({ status: 'cancelled', next_attempt_at: null, last_decision: 'cancelled', decisions: logDecision(trx, now, 'cancelled', 'opted_out'), updated_at: now });
    });
};
