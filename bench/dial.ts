// A campaign of many leads dialled through the simulator at max_concurrent_calls=100. Reports the
// most calls the provider saw live at once (and the most slots held), how busy the slots were
// while leads remained, and the dispatch delay: from the moment the provider ended a call (its
// final webhook on its way) to the next call it received. Prints JSON.
//
//     npx tsx bench/dial.ts [leads] [time scale]

import { startServer, waitFor } from '../test/lib/harness';
import { closedPort } from '../test/lib/proxy';
import { signUp } from '../test/lib/session';


const leads = Number(process.argv[2] ?? 10_000);
const timeScale = Number(process.argv[3] ?? 0.01);
const concurrency = 100;


const percentile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;


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
        const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Bench', max_concurrent_calls: concurrency, max_retries: 0, calling_config: { enforce_local_hours: false } } });
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

        const started = process.hrtime.bigint();
        await server.inject({ method: 'POST', url: `/api/v1/campaigns/${id}/start`, headers: owner.headers, payload: {} });
        await waitFor(async () => (await db('campaigns').where({ id }).first('status')).status === 'completed', 30 * 60_000);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        clearInterval(sampler);

        // Each call's end, first come first served, against the next call the provider received

        const calls = [...simulator.calls.values()];
        const lastCreate = Math.max(...calls.map((call) => call.createdAt.getTime()));
        const ends = calls.map((call) => call.endedAt!.getTime()).filter((at) => at < lastCreate).sort((a, b) => a - b);
        const creates = calls.map((call) => call.createdAt.getTime()).sort((a, b) => a - b);
        const delays: number[] = [];
        let next = 0;
        for (const end of ends) {
            while (next < creates.length && creates[next]! < end) {
                ++next;
            }

            if (next < creates.length) {
                delays.push(creates[next++]! - end);
            }
        }

        delays.sort((a, b) => a - b);
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
            dispatch_delay_ms: { p50: percentile(delays, 0.5), p90: percentile(delays, 0.9), p99: percentile(delays, 0.99), max: delays.at(-1) ?? 0, samples: delays.length },
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
