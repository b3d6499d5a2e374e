import type { ServerRoute } from '@hapi/hapi';

import type { Core } from '../../core/plugin';
import { callerOf, tenantIdFor } from '../../core/tenancy';
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
        path: '/campaigns/{campaign_id}/stats',
        options: {
            description: 'A campaign\'s job and call counts',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignParams },
            response: { schema: Schemas.stats },
            handler: (request) => Campaigns.stats(core, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id)
        }
    }
];
