import Boom from '@hapi/boom';

import type { Core } from '../../core/plugin';
import * as Tenants from '../auth/tenants';
import * as Campaigns from '../campaigns/service';
import * as Abandonment from './abandonment';
import { enqueue, type Enqueueable } from './enqueue';
import { jobStatuses, logDecision, openJobStatuses } from './outcomes';


// Starting, pausing and stopping a campaign, and what its jobs and calls add up to


// Every pending lead gets its job (a stopped campaign's cancelled jobs come back), priority by the
// reference's rule: the override or the lead's own or 5, +2 for high value, +1 for an urgent or
// appointment tag, at most 10. Jobs already waiting (a paused campaign's) go back on the queues.

const createJobs = `
    INSERT INTO dialer_jobs (tenant_id, campaign_id, lead_id, priority, created_at, updated_at)
    SELECT l.tenant_id, l.campaign_id, l.id,
           LEAST(10, COALESCE(?::integer, l.priority, 5) + CASE WHEN l.is_high_value THEN 2 ELSE 0 END + CASE WHEN l.tags && ARRAY['urgent', 'appointment'] THEN 1 ELSE 0 END),
           ?, ?
    FROM leads l
    WHERE l.campaign_id = ? AND l.status = 'pending'
    ON CONFLICT (campaign_id, lead_id) DO UPDATE
        SET status = 'pending', seq = dialer_jobs.seq + 1, priority = EXCLUDED.priority, next_attempt_at = NULL, updated_at = EXCLUDED.updated_at
        WHERE dialer_jobs.status = 'cancelled'
    RETURNING id, seq, tenant_id, priority`;


export const start = async (core: Core, tenantId: string, campaignId: string, priorityOverride?: number) => {

    const { db, clock } = core;
    const now = clock.now();
    const jobs = await db.transaction(async (trx) => {

        const campaign = await Campaigns.lock(trx, tenantId, campaignId);
        if (campaign.status === 'running') {
            throw Boom.conflict('Campaign is already running');
        }

        // A suspension takes the tenant's row first: a start under way when it comes is seen by
        // it, and a start after it is refused here

        if ((await trx('tenants').where({ id: tenantId }).forShare().first('status')).status !== 'active') {
            throw Boom.forbidden('This account is suspended');
        }

        if ((await Tenants.limits(trx, tenantId)).minutes_remaining <= 0) {
            throw Boom.paymentRequired('No calling minutes left on your plan');
        }

        const { rows: waiting } = await trx.raw<{ rows: Enqueueable[] }>(`UPDATE dialer_jobs SET seq = seq + 1, updated_at = ? WHERE campaign_id = ? AND status = 'pending' AND next_attempt_at IS NULL RETURNING id, seq, tenant_id, priority`, [now, campaignId]);
        const { rows: created } = await trx.raw<{ rows: Enqueueable[] }>(createJobs, [priorityOverride ?? null, now, now, campaignId]);
        if (!waiting.length && !created.length) {
            const open = await trx('dialer_jobs').where({ campaign_id: campaignId }).whereIn('status', openJobStatuses).first('id');
            if (!open) {
                throw Boom.conflict('The campaign has no pending leads to call');
            }
        }

        await trx('campaigns').where({ id: campaignId }).update({ status: 'running', paused_reason: null, updated_at: now });
        return [...waiting, ...created];
    });

    // After the commit, so a worker never takes a message for a row it cannot see. Redis being
    // away loses nothing: the reconciler enqueues what it does not hold.

    try {
        await enqueue(core, jobs);
    }
    catch (err) {
        core.logger.warn({ err, campaign: campaignId }, 'jobs not enqueued; the reconciler will');
    }

    announce(core, tenantId, campaignId, 'running');
    return { campaign_id: campaignId, status: 'running', jobs_queued: jobs.length, message: `Campaign started with ${jobs.length} jobs queued` };
};


export const pause = async (core: Core, tenantId: string, campaignId: string) => {

    const paused = await core.db.transaction(async (trx) => {

        const campaign = await Campaigns.lock(trx, tenantId, campaignId);
        if (campaign.status !== 'running') {
            throw Boom.conflict(`Only a running campaign can be paused; this one is ${campaign.status}`);
        }

        await trx('campaigns').where({ id: campaignId }).update({ status: 'paused', updated_at: core.clock.now() });
        return { campaign_id: campaignId, status: 'paused', message: 'Campaign paused; calls in progress finish' };
    });

    announce(core, tenantId, campaignId, 'paused');
    return paused;
};


export const stop = async (core: Core, tenantId: string, campaignId: string) => {

    const now = core.clock.now();
    const stopped = await core.db.transaction(async (trx) => {

        const campaign = await Campaigns.lock(trx, tenantId, campaignId);
        if (campaign.status !== 'running' && campaign.status !== 'paused') {
            throw Boom.conflict(`Only a running or paused campaign can be stopped; this one is ${campaign.status}`);
        }

        const cancelled = await trx('dialer_jobs').where({ campaign_id: campaignId }).whereIn('status', ['pending', 'retry_scheduled'])
            .update({ status: 'cancelled', next_attempt_at: null, last_decision: 'cancelled', decisions: logDecision(trx, now, 'cancelled', 'campaign_stopped'), updated_at: now });

        await trx('campaigns').where({ id: campaignId }).update({ status: 'stopped', updated_at: now });
        return { campaign_id: campaignId, status: 'stopped', jobs_cancelled: cancelled, message: `Campaign stopped; ${cancelled} jobs cancelled` };
    });

    announce(core, tenantId, campaignId, 'stopped');
    return stopped;
};


// A campaign's new status, for the clients watching it (after the commit: they may read it back)

const announce = (core: Core, tenantId: string, campaignId: string, status: string) => {

    core.live.publish({ tenant_id: tenantId, type: 'campaign', campaign_id: campaignId, data: { campaign_id: campaignId, status } });
};


const jobColumns = [
    'j.id', 'j.lead_id', 'l.phone_number', 'j.status', 'j.priority', 'j.attempt', 'j.next_attempt_at', 'j.last_outcome',
    'j.last_decision', 'j.decisions', 'j.created_at', 'j.updated_at'
];


export const jobs = async (core: Core, tenantId: string, campaignId: string, query: { page: number; page_size: number; status?: string }) => {

    await Campaigns.get(core.db, tenantId, campaignId);
    const filtered = core.db('dialer_jobs as j').where('j.campaign_id', campaignId).modify((q) => query.status && q.where('j.status', query.status));
    const [{ total }] = await filtered.clone().count({ total: '*' });
    const items = await filtered.clone()
        .join('leads as l', 'l.id', 'j.lead_id')
        .orderBy([{ column: 'j.priority', order: 'desc' }, { column: 'j.created_at' }, { column: 'j.id' }])
        .limit(query.page_size).offset((query.page - 1) * query.page_size)
        .select(jobColumns);

    return { items, page: query.page, page_size: query.page_size, total: Number(total) };
};


// One job with its decisions, the audit of why it was dialled, deferred or skipped when it was

export const job = async (core: Core, tenantId: string, campaignId: string, jobId: string) => {

    await Campaigns.get(core.db, tenantId, campaignId);
    const found = await core.db('dialer_jobs as j')
        .join('leads as l', 'l.id', 'j.lead_id')
        .where({ 'j.id': jobId, 'j.campaign_id': campaignId, 'j.tenant_id': tenantId })
        .first(jobColumns);

    if (!found) {
        throw Boom.notFound('Job not found');
    }

    return found;
};


// Live leads without consent: never dialled when the campaign requires consent

const withoutConsent = async (core: Core, campaignId: string) => {

    const [{ count }] = await core.db('leads').where({ campaign_id: campaignId }).whereNot('status', 'deleted').whereNull('consent_at').count({ count: '*' });
    return Number(count);
};


const countBy = async (query: Promise<Array<{ key: string | null; count: string }>>) => {

    return Object.fromEntries((await query).filter((row) => row.key !== null).map((row) => [row.key, Number(row.count)]));
};


// Counted from the rows themselves at the moment of asking, so they always agree with them

export const stats = async (core: Core, tenantId: string, campaignId: string) => {

    const { db } = core;
    const campaign = await Campaigns.get(core.db, tenantId, campaignId);
    const [jobCounts, outcomeCounts, abandonment] = await Promise.all([
        countBy(db('dialer_jobs').where({ campaign_id: campaignId }).groupBy('status').select('status as key').count('* as count')),
        countBy(db('calls').where({ campaign_id: campaignId }).groupBy('outcome').select('outcome as key').count('* as count')),
        Abandonment.rates(core, campaignId)
    ]);

    const leadsWithoutConsent = await withoutConsent(core, campaignId);

    return {
        campaign_id: campaignId,
        campaign_status: campaign.status,
        total_leads: campaign.total_leads,
        job_status_counts: Object.fromEntries(jobStatuses.map((status) => [status, jobCounts[status] ?? 0])),
        call_outcome_counts: outcomeCounts,
        goals_achieved: outcomeCounts.goal_achieved ?? 0,
        leads_without_consent: leadsWithoutConsent,
        ...abandonment
    };
};
