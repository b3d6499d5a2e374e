import Crypto from 'crypto';

import Code from '@hapi/code';
import type { Server } from '@hapi/hapi';
import Lab from '@hapi/lab';
import Nes from '@hapi/nes/lib/client';

import { createServer } from '../core/server';
import { startServer, waitFor, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


// What a client heard, by subscription path

const listener = () => {

    const heard: Record<string, unknown[]> = {};
    const on = (path: string) => {

        return (message: unknown) => void (heard[path] ??= []).push(message);
    };

    return { heard, on };
};


describe('live events', () => {

    let harness: Harness;
    let other: Server;                           // a second api instance: same database, same Redis
    let url: string;
    let owner: Awaited<ReturnType<typeof signUp>>;
    let stranger: Awaited<ReturnType<typeof signUp>>;
    let campaignId: string;

    before(async () => {

        harness = await startServer({}, { listen: true });
        other = await createServer({ ...harness.config, port: 0 });
        await other.start();
        url = `ws://127.0.0.1:${other.info.port}`;

        owner = await signUp(harness.server);
        stranger = await signUp(harness.server);
        const created = await harness.server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Live' } });
        campaignId = (created.result as { id: string }).id;
    });

    after(async () => {

        await other.stop({ timeout: 100 });
        await harness.cleanup();
    });

    const connect = async (headers: Record<string, string>) => {

        const client = new Nes.Client(url as `ws://${string}`);
        await client.connect({ auth: { headers }, reconnect: false });
        return client;
    };

    // A call of the campaign, as the dialer has just placed it

    const placedCall = async (tenantId = owner.tenantId, campaign = campaignId) => {

        const { db } = harness.server.plugins.core;
        const phone = `+1212555${String(Crypto.randomInt(10000)).padStart(4, '0')}`;
        const [lead] = await db('leads').insert({ tenant_id: tenantId, campaign_id: campaign, phone_number: phone, status: 'calling' }).returning('id');
        const [job] = await db('dialer_jobs').insert({ tenant_id: tenantId, campaign_id: campaign, lead_id: lead.id, status: 'dialing', attempt: 1 }).returning('id');
        const id = Crypto.randomUUID();
        await db('calls').insert({ id, tenant_id: tenantId, campaign_id: campaign, lead_id: lead.id, job_id: job.id, attempt: 1, provider: 'simulator', provider_call_id: `live-${id}`, to_number: phone, status: 'dialing' });
        return { id, providerCallId: `live-${id}` };
    };

    const event = (call: { id: string; providerCallId: string }, status: 'ringing' | 'answered' | 'completed', extra: Record<string, unknown> = {}) => {

        return harness.server.plugins.dialer.handleEvent({ callId: call.id, providerCallId: call.providerCallId, status, timestamp: new Date(), raw: { status }, ...extra });
    };

    it('refuses a connection without a valid token', async () => {

        const client = new Nes.Client(url as `ws://${string}`);
        await expect(client.connect({ auth: { headers: { authorization: 'Bearer nonsense' } }, reconnect: false })).to.reject();
        await expect(client.connect({ reconnect: false, timeout: 2000 })).to.reject();
        client.disconnect();
    });

    it('brings a call\'s changes, made on another instance, to its tenant only', async () => {

        const call = await placedCall();
        const mine = listener();
        const theirs = listener();
        const client = await connect(owner.headers);
        const strangerClient = await connect(stranger.headers);
        try {
            await client.subscribe('/tenants/me/calls', mine.on('list'));
            await client.subscribe(`/calls/${call.id}`, mine.on('call'));
            await strangerClient.subscribe('/tenants/me/calls', theirs.on('list'));

            const err = await expect(strangerClient.subscribe(`/calls/${call.id}`, () => undefined)).to.reject();
            expect((err as { statusCode?: number }).statusCode).to.equal(404);
            await expect(strangerClient.subscribe(`/campaigns/${campaignId}`, () => undefined)).to.reject();
            await expect(client.subscribe('/calls/not-a-uuid', () => undefined)).to.reject();

            await event(call, 'ringing');
            await event(call, 'answered');
            await event(call, 'completed', { durationSeconds: 42 });

            await waitFor(() => (mine.heard.call ?? []).length === 3);
            expect(mine.heard.call).to.equal([
                { type: 'call', call: { id: call.id, campaign_id: campaignId, status: 'ringing', outcome: null } },
                { type: 'call', call: { id: call.id, campaign_id: campaignId, status: 'in_progress', outcome: 'answered' } },
                { type: 'call', call: { id: call.id, campaign_id: campaignId, status: 'completed', outcome: 'goal_not_achieved' } }
            ]);

            await waitFor(() => (mine.heard.list ?? []).length === 3);
            expect(mine.heard.list).to.equal(mine.heard.call);

            // A repeated event changes nothing, and tells nothing

            await event(call, 'answered');
            await new Promise((resolve) => setTimeout(resolve, 200));
            expect(mine.heard.call).to.have.length(3);
            expect(theirs.heard).to.equal({});
        }
        finally {
            await client.disconnect();
            await strangerClient.disconnect();
        }
    });

    it('brings the transcript as it is spoken', async () => {

        const call = await placedCall();
        const mine = listener();
        const client = await connect(owner.headers);
        try {
            await client.subscribe(`/calls/${call.id}`, mine.on('call'));
            const turn = { call_id: call.id, seq: 0, speaker: 'agent', text: 'Hello', started_ms: 0, ended_ms: 900, interrupted: false };
            harness.server.plugins.core.live.publish({ tenant_id: owner.tenantId, type: 'turn', campaign_id: campaignId, call_id: call.id, data: turn });
            harness.server.plugins.core.live.publish({ tenant_id: stranger.tenantId, type: 'turn', campaign_id: campaignId, call_id: call.id, data: { ...turn, text: 'Not yours' } });

            await waitFor(() => (mine.heard.call ?? []).length >= 1);
            await new Promise((resolve) => setTimeout(resolve, 100));
            expect(mine.heard.call).to.equal([{ type: 'turn', turn }]);
        }
        finally {
            await client.disconnect();
        }
    });

    it('sends a campaign\'s stats when subscribed, then as its calls change', async () => {

        const mine = listener();
        const client = await connect(owner.headers);
        try {
            await client.subscribe(`/campaigns/${campaignId}`, mine.on('campaign'));
            await waitFor(() => (mine.heard.campaign ?? []).length === 1);
            const [first] = mine.heard.campaign as Array<{ type: string; stats: { campaign_id: string; campaign_status: string; call_outcome_counts: Record<string, number> } }>;
            expect(first!.type).to.equal('stats');
            expect(first!.stats).to.include({ campaign_id: campaignId, campaign_status: 'draft' });
            const earlier = first!.stats.call_outcome_counts.goal_not_achieved ?? 0;

            const call = await placedCall();
            await event(call, 'answered');
            await event(call, 'completed', { durationSeconds: 10 });

            await waitFor(() => (mine.heard.campaign as Array<{ stats: { call_outcome_counts: Record<string, number> } }>).some((message) => message.stats.call_outcome_counts.goal_not_achieved === earlier + 1), 5000);
        }
        finally {
            await client.disconnect();
        }
    });

    it('lets a suspended tenant\'s clients go, and no one else\'s', async () => {

        const client = await connect(owner.headers);
        const strangerClient = await connect(stranger.headers);
        const gone = new Promise<void>((resolve) => (client.onDisconnect = () => resolve()));
        let strangerGone = false;
        strangerClient.onDisconnect = () => (strangerGone = true);

        harness.server.plugins.core.live.publish({ tenant_id: owner.tenantId, type: 'tenant', data: { status: 'suspended' } });
        await gone;
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(strangerGone).to.be.false();
        await strangerClient.disconnect();
    });
});
