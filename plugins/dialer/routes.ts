import type { ServerRoute } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import { noContent } from '../../core/schemas';
import { callerOf, requireOwner, tenantIdFor } from '../../core/tenancy';
import * as Holidays from './holidays';
import * as Schemas from './schemas';
import * as Campaigns from './service';


type Params = { campaign_id: string };


export const routes = (core: Core): ServerRoute[] => [
    {
        method: 'POST',
        path: '/campaigns/{campaign_id}/start',
        options: {
            description: 'Start a campaign, or resume a paused one: every pending lead becomes a dialer job',
            notes: 'Priority per lead: priority_override or the lead\'s priority or 5, +2 when high value, +1 for an urgent or appointment tag, at most 10; 8 and above go to the priority queue. 409 when already running or when no lead is left to call; 402 when the tenant has no minutes.',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignParams, payload: Schemas.startInput },
            response: { schema: Schemas.started },
            handler: (request) => {

                const input = (request.payload ?? {}) as { priority_override?: number | null; tenant_id?: string | null };
                const tenantId = tenantIdFor(request.auth.credentials, input.tenant_id);
                return Campaigns.start(core, tenantId, (request.params as Params).campaign_id, input.priority_override ?? undefined);
            }
        }
    },
    {
        method: 'POST',
        path: '/campaigns/{campaign_id}/pause',
        options: {
            description: 'Pause a running campaign: no new dials, calls in progress finish; start resumes it',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignParams },
            response: { schema: Schemas.paused },
            handler: (request) => Campaigns.pause(core, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id)
        }
    },
    {
        method: 'POST',
        path: '/campaigns/{campaign_id}/stop',
        options: {
            description: 'Stop a campaign: its waiting jobs are cancelled, calls in progress finish',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignParams },
            response: { schema: Schemas.stopped },
            handler: (request) => Campaigns.stop(core, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id)
        }
    },
    {
        method: 'GET',
        path: '/campaigns/{campaign_id}/jobs',
        options: {
            description: 'List a campaign\'s dialer jobs, highest priority first, with the decisions taken on each',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignParams, query: Schemas.jobsQuery },
            response: { schema: Schemas.jobPage },
            handler: (request) => Campaigns.jobs(core, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id, request.query as { page: number; page_size: number; status?: string })
        }
    },
    {
        method: 'GET',
        path: '/campaigns/{campaign_id}/jobs/{job_id}',
        options: {
            description: 'One dialer job with every decision taken on it, oldest first: the audit of why it was dialled, deferred or skipped',
            notes: 'Decisions: dialed; deferred (outside_campaign_window, outside_local_hours, outside_rule_hours, holiday, max_calls_per_24h, no_minutes); waiting (campaign_full, tenant_full); held (campaign_not_running); skipped (dnc, no_consent); failed (no_calling_time); after each call, with its outcome: retry, completed, failed, cancelled, not_placed; cancelled (campaign_stopped, opted_out, erased). The last 100 are kept.',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.jobParams },
            response: { schema: Schemas.job },
            handler: (request) => {

                const params = request.params as Params & { job_id: string };
                return Campaigns.job(core, callerOf(request.auth.credentials).tenant_id, params.campaign_id, params.job_id);
            }
        }
    },
    {
        method: 'GET',
        path: '/campaigns/{campaign_id}/stats',
        options: {
            description: 'A campaign\'s job and call counts',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignParams },
            response: { schema: Schemas.stats },
            handler: (request) => Campaigns.stats(core, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id)
        }
    },
    {
        method: 'GET',
        path: '/holidays',
        options: {
            description: 'The tenant\'s holidays: no number is called on these dates, in its own local time',
            tags: ['api', 'holidays'],
            response: { schema: Schemas.holidays },
            handler: async (request) => ({ holidays: await Holidays.list(core.db, callerOf(request.auth.credentials).tenant_id) })
        }
    },
    {
        method: 'POST',
        path: '/holidays',
        options: {
            auth: requireOwner,
            description: 'Add a holiday (adding a date again renames it); calls due on it are deferred to the next allowed time',
            tags: ['api', 'holidays'],
            validate: { payload: Schemas.holidayInput },
            response: { status: { 201: Schemas.holiday } },
            handler: async (request, h) => h.response(await Holidays.add(core.db, callerOf(request.auth.credentials).tenant_id, request.payload as { date: string; name?: string | null })).code(201)
        }
    },
    {
        method: 'DELETE',
        path: '/holidays/{date}',
        options: {
            auth: requireOwner,
            description: 'Remove a holiday',
            tags: ['api', 'holidays'],
            validate: { params: Schemas.holidayParams },
            response: { status: { 204: noContent } },
            handler: async (request, h) => {

                await Holidays.remove(core.db, callerOf(request.auth.credentials).tenant_id, (request.params as { date: string }).date);
                return h.response().code(204);
            }
        }
    }
];
