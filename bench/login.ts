// Login answers the same for a registered and an unknown email; this measures that the time does
// not tell them apart either. Prints JSON: latency of each kind over the same run, and their ratio.
//
//     npx tsx bench/login.ts [requests]

import { performance } from 'perf_hooks';

import { startServer } from '../test/lib/harness';


const stats = (samples: number[]) => {

    const sorted = [...samples].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return { mean_ms: Number((samples.reduce((a, b) => a + b, 0) / samples.length).toFixed(3)), p50_ms: Number(at(0.5).toFixed(3)), p99_ms: Number(at(0.99).toFixed(3)) };
};


const main = async () => {

    const requests = Number(process.argv[2] ?? 2000);
    const harness = await startServer({ logLevel: 'silent' });
    const { server } = harness;

    await server.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: 'known@example.com', business_name: 'Bench', plan_id: 'basic' } });

    const timings: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] };
    for (let i = 0; i < requests; ++i) {
        const kind = i % 2 ? 'known' : 'unknown';
        const email = kind === 'known' ? 'known@example.com' : `stranger${i}@example.com`;
        const start = performance.now();
        const res = await server.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email } });
        timings[kind].push(performance.now() - start);
        if (res.statusCode !== 200) {
            throw new Error(`login answered ${res.statusCode}`);
        }
    }

    const known = stats(timings.known.slice(50));
    const unknown = stats(timings.unknown.slice(50));
    console.log(JSON.stringify({ requests, known, unknown, mean_ratio: Number((known.mean_ms / unknown.mean_ms).toFixed(3)) }, null, 2));
    await harness.cleanup();
};


main().catch((err) => {

    console.error(err);
    process.exit(1);
});
