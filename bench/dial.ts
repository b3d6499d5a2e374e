// A campaign of many leads dialled through the simulator at max_concurrent_calls=100. Reports the
// most calls the provider saw live at once (and the most slots held), how busy the slots were
// while leads remained (calls live at the provider over the limit), and two dispatch delays:
// from a slot freed in Talky (its pub/sub notice) to the next call the provider received, and
// from the provider's end of a call (its final webhook then on its way) to the next. Prints JSON.
//
//     npx tsx bench/dial.ts [leads] [time scale]

import Redis from 'ioredis';

import { startServer, waitFor } from '../test/lib/harness';
import { closedPort } from '../test/lib/proxy';
import { signUp } from '../test/lib/session';


const leads = Number(process.argv[2] ?? 10_000);
const timeScale = Number(process.argv[3] ?? 0.01);
const concurrency = 100;


const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;


// Each freeing, first come first served, against the next call the provider received after it

const delays = (freed: number[], creates: number[]) => {

    const sortedFreed = freed.filter((at) => at < Math.max(...creates)).sort((a, b) => a - b);
    const sortedCreates = [...creates].sort((a, b) => a - b);
    const result: number[] = [];
    let next = 0;
    for (const at of sortedFreed) {
        while (next < sortedCreates.length && sortedCreates[next]! < at) {
            ++next;
        }

        if (next < sortedCreates.length) {
            result.push(sortedCreates[next++]! - at);
        }
    }

    result.sort((a, b) => a - b);
    return { p50: percentile(result, 0.5), p90: percentile(result, 0.9), p99: percentile(result, 0.99), max: result.at(-1) ?? 0, samples: result.length };
};


const main = async () => {

    const port = await closedPort();
    const harness = await startServer({
        port,
        publicUrl: `http://127.0.0.1:${port}`,
        logLevel: 'warn',
        telephonyProvider: 'simulator',
        telephonyMaxCps: 10_000,
        simulatorTimeScale: timeScale,
        simulatorOutcomes: 'answered:0.6,busy:0.1,no_answer:0.2,voicemail:0.05,failed:0.03,rejected:0.02',
        vonageSignatureSecret: 'bench-signature-secret-0123456789',
        databasePoolMax: 20
    }, { listen: true });

    const { server } = harness;
    const { db, redis } = server.plugins.core;
    try {
        await db('plans').where({ id: 'enterprise' }).update({ max_concurrent_calls: 1000 });
        const owner = await signUp(server, { plan: 'enterprise' });
        await db('tenants').where({ id: owner.tenantId }).update({ minutes_remaining: 10_000_000 });

        // No voice socket here: every answered call is one the agent never spoke on, abandoned, and
        // the campaign would pause itself at the twentieth

        const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Bench', max_concurrent_calls: concurrency, max_retries: 0, calling_config: { enforce_local_hours: false, max_abandonment_rate: 100 } } });
        const id = (created.result as { id: string }).id;
        await db.raw(`INSERT INTO leads (tenant_id, campaign_id, phone_number) SELECT ?, ?, '+1212' || lpad(i::text, 7, '0') FROM generate_series(1, ?) AS i`, [owner.tenantId, id, leads]);

        const simulator = server.plugins.simulator.instance();
        const samples: number[] = [];
        let maxHeld = 0;
        const sampler = setInterval(async () => {

            const held = await redis.zcard(`dialer:slots:campaign:${id}`);
            maxHeld = Math.max(maxHeld, held);
            if (simulator.stats.placed < leads) {
                samples.push(simulator.stats.live);
            }
        }, 10);

        // Talky announces every freed slot on this channel, for the workers' waiting dials

        const freed: number[] = [];
        const listener = new Redis(server.plugins.core.config.redisUrl);
        await listener.subscribe(`${server.plugins.core.config.redisPrefix}:dialer:freed`);
        listener.on('message', () => freed.push(Date.now()));

        const started = process.hrtime.bigint();
        await server.inject({ method: 'POST', url: `/api/v1/campaigns/${id}/start`, headers: owner.headers, payload: {} });
        await waitFor(async () => (await db('campaigns').where({ id }).first('status')).status === 'completed', 30 * 60_000);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        clearInterval(sampler);
        listener.disconnect();

        const calls = [...simulator.calls.values()];
        const creates = calls.map((call) => call.createdAt.getTime());
        const busy = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length / concurrency : 0;
        console.log(JSON.stringify({
            leads,
            time_scale: timeScale,
            max_concurrent_calls: concurrency,
            seconds: Number(seconds.toFixed(1)),
            calls_per_second: Math.round(leads / seconds),
            provider_max_live: simulator.stats.maxLive,
            max_slots_held: maxHeld,
            busy_while_leads_remain: Number(busy.toFixed(3)),
            dispatch_delay_ms: delays(freed, creates),
            provider_end_to_next_call_ms: delays(calls.map((call) => call.endedAt!.getTime()), creates),
            placed: simulator.stats.placed,
            throttled: simulator.stats.throttled
        }));
    }
    finally {
        await harness.cleanup();
    }
};


main().catch((err) => {

    console.error(err);
    process.exit(1);
});
