// Live event delivery: signed provider webhooks arrive at one api instance at a steady rate, and a
// client of another instance (same Postgres, same Redis), subscribed to the tenant's live call
// list, hears each change. Measured per event: from the webhook's request sent to the client's
// message received. Baselines in the same run: a bare Redis publish to a subscriber, and the
// webhook's own answer time. Prints JSON.
//
//     npx tsx bench/live.ts [events per second=200] [seconds=15]

import Crypto from 'crypto';
import Http from 'http';

import Nes from '@hapi/nes/lib/client';

import { createServer } from '../core/server';
import { signWebhook } from '../plugins/vonage/signature';
import { startServer } from '../test/lib/harness';
import { closedPort } from '../test/lib/proxy';
import { signUp } from '../test/lib/session';
import { placedCalls } from './lib/calls';


const rate = Number(process.argv[2] ?? 200);
const seconds = Number(process.argv[3] ?? 15);
const secret = 'bench-signature-secret-0123456789';
const phases = [{ status: 'ringing', heard: 'ringing' }, { status: 'answered', heard: 'in_progress' }, { status: 'completed', heard: 'completed' }];


const percentiles = (values: number[]) => {

    const sorted = [...values].sort((a, b) => a - b);
    const at = (p: number) => Number((sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p / 100) - 1)] ?? 0).toFixed(2));
    return { p50: at(50), p90: at(90), p99: at(99), max: at(100), samples: sorted.length };
};


const agent = new Http.Agent({ keepAlive: true, maxSockets: 20 });

const post = (port: number, path: string, body: string, token: string) => new Promise<number>((resolve, reject) => {

    const request = Http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` } }, (res) => {

        res.resume();
        res.on('end', () => resolve(res.statusCode!));
    });

    request.on('error', reject);
    request.end(body);
});


// Redis alone: publish to a subscriber of the same server, as the relay's path does

const redisBaseline = async (server: Awaited<ReturnType<typeof startServer>>['server']) => {

    const { redis } = server.plugins.core;
    const subscriber = redis.duplicate();
    const times: number[] = [];
    const channel = `bench-live-${process.pid}`;
    await subscriber.subscribe(channel);
    const done = new Promise<void>((resolve) => {

        subscriber.on('message', (_channel: string, message: string) => {

            times.push(performance.now() - Number(message));
            if (times.length === 1000) {
                resolve();
            }
        });
    });

    for (let i = 0; i < 1000; ++i) {
        await redis.publish(channel, String(performance.now()));
        await new Promise((resolve) => setTimeout(resolve, 1));
    }

    await done;
    subscriber.disconnect();
    return percentiles(times);
};


const main = async () => {

    const port = await closedPort();
    const harness = await startServer({ port, publicUrl: `http://127.0.0.1:${port}`, logLevel: 'warn', vonageSignatureSecret: secret }, { listen: true });
    const other = await createServer({ ...harness.config, port: 0 });
    await other.start();
    try {
        const { server } = harness;
        const { db } = server.plugins.core;
        const owner = await signUp(server, { plan: 'enterprise' });
        // No voice socket: a ceiling that cannot be reached, or every answered call, abandoned, would count it
        const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Live bench', max_retries: 0, calling_config: { max_abandonment_rate: 100 } } });
        const campaignId = (created.result as { id: string }).id;
        await db('campaigns').where({ id: campaignId }).update({ status: 'running' });

        const calls = Math.ceil(rate * seconds / phases.length);
        await placedCalls(db, owner.tenantId, campaignId, calls);

        // Every event signed beforehand: each call's three in order, the calls interleaved

        const rows: Array<{ id: string; provider_call_id: string }> = await db('calls').where({ campaign_id: campaignId }).select('id', 'provider_call_id');
        const events = phases.flatMap((phase) => rows.map((call) => {

            const body = JSON.stringify({ uuid: call.provider_call_id, conversation_uuid: `CON-${call.id}`, status: phase.status, timestamp: new Date().toISOString(), ...(phase.status === 'completed' ? { duration: '30' } : {}) });
            return { key: `${call.id} ${phase.heard}`, path: `/api/v1/webhooks/vonage/event?call_id=${call.id}&attempt=1`, body, token: signWebhook(secret, body, { applicationId: Crypto.randomUUID() }) };
        }));

        const client = new Nes.Client(`ws://127.0.0.1:${other.info.port}`);
        await client.connect({ auth: { headers: owner.headers } });
        const sentAt = new Map<string, number>();
        const delivery: number[] = [];
        let heard = 0;
        await client.subscribe('/tenants/me/calls', (message) => {

            const { call } = message as { call: { id: string; status: string } };
            const sent = sentAt.get(`${call.id} ${call.status}`);
            if (sent !== undefined) {
                delivery.push(performance.now() - sent);
                ++heard;
            }
        });

        const redis = await redisBaseline(server);

        // Steady rate: each event leaves at its time, whatever the answers before it

        const answers: number[] = [];
        let failures = 0;
        const started = performance.now();
        await Promise.all(events.map(async (event, i) => {

            const due = started + i * 1000 / rate;
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - performance.now())));
            const at = performance.now();
            sentAt.set(event.key, at);
            const status = await post(port, event.path, event.body, event.token).catch(() => 0);
            answers.push(performance.now() - at);
            failures += status === 204 ? 0 : 1;
        }));

        const deadline = performance.now() + 5000;
        while (heard < events.length && performance.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, 50));
        }

        await client.disconnect();
        console.log(JSON.stringify({
            events_per_second: rate,
            events: events.length,
            failures,
            delivered: heard,
            delivery_ms: percentiles(delivery),
            webhook_answer_ms: percentiles(answers),
            raw_redis_pubsub_ms: redis
        }));
    }
    finally {
        agent.destroy();
        await other.stop({ timeout: 100 });
        await harness.cleanup();
    }
};


main().catch((err) => {

    console.error(err);
    process.exit(1);
});
