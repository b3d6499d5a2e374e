import Boom from '@hapi/boom';
import type { AuthCredentials } from '@hapi/hapi';
import type { Nes } from '@hapi/nes';

import type { TalkyPlugin } from '../../core/plugin';
import { callerOf } from '../../core/tenancy';
import { LiveRelay } from './relay';
import { CampaignStats } from './stats';


// Live events over nes, for the frontend: a campaign's stats as they change, a call's status and
// transcript as they happen, and the tenant's calls as a live list. Clients connect with the same
// tokens as the REST API (nes's `auth.headers`), see only their tenant's events, and may only
// subscribe to their own campaigns and calls. Events come from any process through Redis.

type Params = { campaign_id?: string; call_id?: string };

const ownTenant = (path: string, message: unknown, options: { credentials?: AuthCredentials; internal?: unknown }) => {

    return (options.credentials as { tenant_id?: string } | undefined)?.tenant_id === (options.internal as { tenant_id?: string } | undefined)?.tenant_id;
};

const tenantOf = (socket: Nes.Socket) => callerOf(socket.auth.credentials).tenant_id;

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;


export const plugin: TalkyPlugin = {
    name: 'live',
    dependencies: ['core', 'auth', 'dialer'],
    register(server) {

        const core = server.plugins.core;
        if (!core.servesApi) {
            return;                              // a worker has no nes: it only publishes
        }

        const stats = new CampaignStats(server, core);
        const relay = new LiveRelay(server, core, stats);

        server.subscription('/campaigns/{campaign_id}', {
            auth: { mode: 'required' },
            filter: ownTenant,
            onSubscribe: async (socket, path, params) => {

                const { campaign_id: campaignId } = params as Params;
                const tenantId = tenantOf(socket);
                if (!uuid.test(campaignId!)) {
                    throw Boom.notFound('Campaign not found');
                }

                await socket.publish(path, { type: 'stats', stats: await stats.snapshot(tenantId, campaignId!) });      // a campaign of another tenant is not found
                stats.watch(tenantId, campaignId!);
            },
            onUnsubscribe: (socket, path, params) => stats.unwatch((params as Params).campaign_id!)
        });

        server.subscription('/calls/{call_id}', {
            auth: { mode: 'required' },
            filter: ownTenant,
            onSubscribe: async (socket, path, params) => {

                const { call_id: callId } = params as Params;
                if (!uuid.test(callId!) || !await core.db('calls').where({ id: callId, tenant_id: tenantOf(socket) }).first('id')) {
                    throw Boom.notFound('Call not found');
                }
            }
        });

        server.subscription('/tenants/me/calls', { auth: { mode: 'required' }, filter: ownTenant });

        server.ext('onPreStart', () => relay.start());
        server.ext('onPostStop', () => {

            relay.stop();
            stats.stop();
        });
    }
};
