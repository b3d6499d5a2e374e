import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { load } from '../config';
import { createServer } from '../core/server';
import { dropTestData, testConfig, waitFor } from './lib/harness';
import { Proxy } from './lib/proxy';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;

const echoPath = Path.join(__dirname, 'fixtures', 'echo-plugin');



describe('queues', () => {

    it('runs plugin job handlers only in roles that run workers', async () => {

        const base = testConfig({ plugins: [echoPath] });
        const api = await createServer(load({}, { ...base, role: 'api' }));
        await api.initialize();
        expect(api.plugins.core.runsWorkers).to.be.false();
        expect(api.plugins.core.queues.handled).to.include('echo');

        const queued = await api.inject({ method: 'POST', url: '/api/v1/echo/jobs', payload: { text: 'from api' } });
        expect(queued.statusCode).to.equal(202);

        // Nothing consumes it while only the api process runs

        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(await api.plugins.core.db('echo_notes').count('* as n').first()).to.equal({ n: 0 });

        const worker = await createServer(load({}, { ...base, role: 'worker' }));
        await worker.initialize();
        expect(worker.plugins.core.runsWorkers).to.be.true();

        await waitFor(async () => (await api.plugins.core.db('echo_notes').count('* as n').first())!.n === 1);
        expect(await api.plugins.core.db('echo_notes').select('text')).to.equal([{ text: 'from api' }]);

        await api.stop();
        await worker.stop();
        await dropTestData(base);
    });

    it('adds many jobs with ids of their own at once, each id once, for the queue\'s workers', async () => {

        const config = testConfig();
        const server = await createServer(config);
        await server.initialize();
        try {
            const { queues } = server.plugins.core;
            const jobs = Array.from({ length: 2500 }, (_, i) => ({ id: `job-${i}`, data: { n: i } }));
            expect(await queues.add('bulk', jobs)).to.equal(2500);
            expect(await queues.add('bulk', [...jobs.slice(0, 10), { id: 'job-new', data: { n: -1 } }])).to.equal(1);

            const seen: number[] = [];
            queues.process<{ n: number }, void>('bulk', (job) => {

                seen.push(job.data.n);
                return Promise.resolve();
            }, { concurrency: 20 });

            await waitFor(() => seen.length === 2501, 20_000);
            expect(new Set(seen).size).to.equal(2501);
            expect(seen[0]).to.equal(0);                                 // first in, first out
        }
        finally {
            await server.stop();
            await dropTestData(config);
        }
    });

    it('keeps processing after a Redis outage, and starts when Redis comes up late', async () => {

        const redis = new Proxy({ host: '127.0.0.1', port: 6379 });
        await redis.open();
        const port = redis.port;
        await redis.cut();

        // Redis is not there when the worker starts

        const config = testConfig({ plugins: [echoPath], redisUrl: `redis://127.0.0.1:${port}` });
        const server = await createServer(config);
        await server.initialize();
        const { db, queues } = server.plugins.core;
        const count = async () => Number((await db('echo_notes').count('* as n').first())!.n);

        await new Promise((resolve) => setTimeout(resolve, 300));
        await redis.open();
        await queues.get('echo').createJob({ text: 'late start' }).save();
        await waitFor(async () => await count() === 1, 10_000);
        expect(await db('echo_notes').pluck('text')).to.equal(['late start']);

        // Redis goes away while it runs, and comes back

        await redis.cut();
        await new Promise((resolve) => setTimeout(resolve, 300));
        await redis.open();
        await waitFor(async () => {

            await queues.get('echo').createJob({ text: 'after outage' }).save();
            return true;
        }, 10_000);

        await waitFor(async () => await count() >= 2, 15_000);
        expect(await db('echo_notes').pluck('text')).to.include('after outage');
        await server.stop();
        await redis.cut();
        await dropTestData(config);
    });

    it('refuses a second handler for one queue', async () => {

        const config = testConfig();
        const server = await createServer(config);
        const { queues } = server.plugins.core;
        queues.process('twice', () => Promise.resolve());
        expect(() => queues.process('twice', () => Promise.resolve())).to.throw('Queue twice already has a handler');
        await server.stop();
    });

    it('lets a running job finish when the worker stops', async () => {

        const config = testConfig();
        const finished: string[] = [];
        const server = await createServer(config, {
            plugins: [{
                name: 'slow-jobs',
                register: (srv) => srv.plugins.core.queues.process<{ id: string }, void>('slow', async (job) => {

                    await new Promise((resolve) => setTimeout(resolve, 300));
                    finished.push(job.data.id);
                })
            }]
        });

        await server.initialize();
        const { queues } = server.plugins.core;
        const job = await queues.get('slow').createJob({ id: 'a' }).save();
        expect(job.id).to.exist();
        await new Promise((resolve) => setTimeout(resolve, 100));          // the worker has taken it

        await server.stop({ timeout: 2000 });
        expect(finished).to.equal(['a']);
        await dropTestData(config);
    });
});
