// Starting a campaign of many leads: when POST /start returns, every dialer_jobs row is written
// and every job is in bee-queue. The raw limit, measured in the same run on the same machine, is
// the same work done the plainest fast way: COPY of the job rows into a table like dialer_jobs,
// then bee-queue's saveAll of one job per lead. Prints JSON; ratio is raw seconds over start's.
//
//     npx tsx bench/start.ts [leads]

import { Readable } from 'stream';
import { pipeline } from 'stream/promises';

import BeeQueue from 'bee-queue';
import Pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { connectionString } from '../core/db';
import { startServer } from '../test/lib/harness';
import { signUp } from '../test/lib/session';


const leads = Number(process.argv[2] ?? 100_000);


const timed = async <T>(run: () => Promise<T>) => {

    const start = process.hrtime.bigint();
    const value = await run();
    return { seconds: Number(process.hrtime.bigint() - start) / 1e9, value };
};


const main = async () => {

    // An api process: the jobs are enqueued, and no worker dials them while the clock runs

    const harness = await startServer({ role: 'api', logLevel: 'warn' });
    const { server, config } = harness;
    const { db } = server.plugins.core;
    const owner = await signUp(server, { plan: 'enterprise' });

    const campaign = async () => {

        const res = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Bench', max_concurrent_calls: 10 } });
        const id = (res.result as { id: string }).id;
        await db.raw(`
            INSERT INTO leads (tenant_id, campaign_id, phone_number, timezones, priority, is_high_value, tags)
            SELECT ?, ?, '+1212' || lpad(i::text, 7, '0'), '{America/New_York}', 1 + i % 10, i % 7 = 0, CASE WHEN i % 11 = 0 THEN '{urgent}'::text[] ELSE '{}' END
            FROM generate_series(1, ?) AS i`, [owner.tenantId, id, leads]);

        await db.raw('VACUUM ANALYZE leads');
        return id;
    };

    try {
        await db.raw('CREATE TABLE raw_jobs (LIKE dialer_jobs INCLUDING ALL)');
        const rawCampaign = await campaign();
        const leadIds: string[] = (await db('leads').where({ campaign_id: rawCampaign }).select('id')).map((row: { id: string }) => row.id);

        // The raw limit: COPY the rows, then saveAll the jobs

        const client = new Pg.Client({ connectionString: connectionString(config.databaseUrl) });
        await client.connect();
        const copy = await timed(async () => {

            const lines = function* () {

                for (let i = 0; i < leadIds.length; i += 5000) {
                    yield leadIds.slice(i, i + 5000).map((id) => `${owner.tenantId}\t${rawCampaign}\t${id}\t5`).join('\n') + '\n';
                }
            };

            await pipeline(Readable.from(lines()), client.query(copyFrom('COPY raw_jobs (tenant_id, campaign_id, lead_id, priority) FROM STDIN')));
        });

        await client.end();

        const queue = new BeeQueue('bench-raw', { prefix: `${config.redisPrefix}:bq`, redis: { url: config.redisUrl } as BeeQueue.QueueSettings['redis'], isWorker: false, getEvents: false, sendEvents: false });
        const saveAll = await timed(() => queue.saveAll(leadIds.map((id) => queue.createJob({ id, seq: 1 }).setId(`${id}:1`))));
        await queue.close();

        const target = await campaign();
        const start = await timed(() => server.inject({ method: 'POST', url: `/api/v1/campaigns/${target}/start`, headers: owner.headers, payload: {} }));
        if (start.value.statusCode !== 200) {
            throw new Error(`start answered ${start.value.statusCode}: ${start.value.payload}`);
        }

        const rows = Number((await db('dialer_jobs').where({ campaign_id: target }).count({ n: '*' }))[0]!.n);
        const raw = copy.seconds + saveAll.seconds;
        console.log(JSON.stringify({
            leads,
            raw: { copy_seconds: Number(copy.seconds.toFixed(3)), save_all_seconds: Number(saveAll.seconds.toFixed(3)), seconds: Number(raw.toFixed(3)) },
            start: { seconds: Number(start.seconds.toFixed(3)), jobs_queued: (start.value.result as { jobs_queued: number }).jobs_queued, rows },
            ratio: Number((raw / start.seconds).toFixed(3))
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
