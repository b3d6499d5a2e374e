import type { Db } from '../../core/db';


// Calls as the dialer leaves them once placed (lead calling, job dialing, call dialing with its
// provider id), made in bulk for the benches that send their webhooks

export const placedCalls = async (db: Db, tenantId: string, campaignId: string, count: number) => {

    await db.raw(`INSERT INTO leads (tenant_id, campaign_id, phone_number, status) SELECT ?, ?, '+1212' || lpad(i::text, 7, '0'), 'calling' FROM generate_series(1, ?) AS i`, [tenantId, campaignId, count]);
    await db.raw(`INSERT INTO dialer_jobs (tenant_id, campaign_id, lead_id, status, attempt) SELECT tenant_id, campaign_id, id, 'dialing', 1 FROM leads WHERE campaign_id = ?`, [campaignId]);
    await db.raw(`
        INSERT INTO calls (id, tenant_id, campaign_id, lead_id, job_id, attempt, provider, provider_call_id, to_number, status)
        SELECT gen_random_uuid(), j.tenant_id, j.campaign_id, j.lead_id, j.id, 1, 'vonage', gen_random_uuid()::text, l.phone_number, 'dialing'
        FROM dialer_jobs j JOIN leads l ON l.id = j.lead_id WHERE j.campaign_id = ?`, [campaignId]);

    await db.raw('VACUUM ANALYZE leads, dialer_jobs, calls');
};
