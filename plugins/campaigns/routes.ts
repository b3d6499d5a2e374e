import type { ServerRoute } from '@hapi/hapi';

import type { Db } from '../../core/db';
import { noContent } from '../../core/schemas';
import { callerOf } from '../../core/tenancy';
import * as Schemas from './schemas';
import * as Campaigns from './service';


type Params = { campaign_id: string; client_id: string };


export const routes = (db: Db): ServerRoute[] => [
    {
        method: 'GET',
        path: '/campaigns',
        options: {
            description: 'List campaigns, newest first',
            tags: ['api', 'campaigns'],
            response: { schema: Schemas.campaigns },
            handler: async (request) => ({ campaigns: await Campaigns.list(db, callerOf(request.auth.credentials).tenant_id) })
        }
    },
    {
        method: 'POST',
        path: '/campaigns',
        options: {
            description: 'Create a campaign (status draft)',
            notes: 'max_concurrent_calls defaults to, and may not exceed, the plan\'s limit.',
            tags: ['api', 'campaigns'],
            validate: { payload: Schemas.create },
            response: { status: { 201: Schemas.campaign } },
            handler: async (request, h) => {

                const campaign = await Campaigns.create(db, callerOf(request.auth.credentials).tenant_id, request.payload as Record<string, unknown>);
                return h.response(campaign).code(201);
            }
        }
    },
    {
        method: 'GET',
        path: '/campaigns/{campaign_id}',
        options: {
            description: 'Get a campaign',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignId },
            response: { schema: Schemas.campaign },
            handler: async (request) => {

                const { tenant_id: tenantId, ...campaign } = await Campaigns.get(db, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id);
                return campaign;
            }
        }
    },
    {
        method: 'PATCH',
        path: '/campaigns/{campaign_id}',
        options: {
            description: 'Change a campaign that is not running',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignId, payload: Schemas.update },
            response: { schema: Schemas.campaign },
            handler: (request) => Campaigns.update(db, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id, request.payload as Record<string, unknown>)
        }
    },
    {
        method: 'DELETE',
        path: '/campaigns/{campaign_id}',
        options: {
            description: 'Delete a campaign that is not running (it is kept, hidden)',
            tags: ['api', 'campaigns'],
            validate: { params: Schemas.campaignId },
            response: { status: { 204: noContent } },
            handler: async (request, h) => {

                await Campaigns.remove(db, callerOf(request.auth.credentials).tenant_id, (request.params as Params).campaign_id);
                return h.response().code(204);
            }
        }
    },
    {
        method: 'GET',
        path: '/clients',
        options: {
            description: 'List the tenant\'s clients (the customer accounts campaigns can belong to)',
            tags: ['api', 'clients'],
            response: { schema: Schemas.clients },
            handler: async (request) => ({ clients: await Campaigns.listClients(db, callerOf(request.auth.credentials).tenant_id) })
        }
    },
    {
        method: 'POST',
        path: '/clients',
        options: {
            description: 'Create a client',
            tags: ['api', 'clients'],
            validate: { payload: Schemas.clientInput },
            response: { status: { 201: Schemas.client } },
            handler: async (request, h) => h.response(await Campaigns.createClient(db, callerOf(request.auth.credentials).tenant_id, request.payload as Record<string, unknown>)).code(201)
        }
    },
    {
        method: 'GET',
        path: '/clients/{client_id}',
        options: {
            description: 'Get a client',
            tags: ['api', 'clients'],
            validate: { params: Schemas.clientId },
            response: { schema: Schemas.client },
            handler: (request) => Campaigns.getClient(db, callerOf(request.auth.credentials).tenant_id, (request.params as Params).client_id)
        }
    }
];
