import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { load } from '../config';
import { createServer } from '../core/server';
import { dropTestData, testConfig } from './lib/harness';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;

const echoPath = Path.join(__dirname, 'fixtures', 'echo-plugin');


const waitFor = async (probe: () => Promise<boolean>, ms = 5000) => {

    const until = Date.now() + ms;
    while (!await probe()) {
        if (Date.now() > until) {
            throw new Error('Timed out waiting');
        }

        await new Promise((resolve) => setTimeout(resolve, 25));
    }
};


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
