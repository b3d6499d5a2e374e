import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { closedPort, Proxy } from './lib/proxy';
import { startServer, waitFor, type Harness } from './lib/harness';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;



describe('health', () => {

    it('answers ok when PostgreSQL and Redis answer', async () => {

        const harness = await startServer();
        const res = await harness.server.inject('/api/v1/health');
        expect(res.statusCode).to.equal(200);
        expect(res.result).to.equal({ status: 'ok', checks: { database: 'ok', redis: 'ok' }, version: require('../package.json').version });
        await harness.cleanup();
    });

    it('answers 503 naming Redis when Redis is unreachable', async () => {

        const harness = await startServer({ redisUrl: `redis://127.0.0.1:${await closedPort()}` });
        const res = await harness.server.inject('/api/v1/health');
        expect(res.statusCode).to.equal(503);
        expect(res.result).to.include({ status: 'unavailable', checks: { database: 'ok', redis: 'unreachable' }, detail: 'redis is unreachable' });
        await harness.cleanup();
    });

    describe('through outages', () => {

        const redis = new Proxy({ host: '127.0.0.1', port: 6379 });
        const postgres = new Proxy({ host: '127.0.0.1', port: 5432 });
        let harness: Harness;

        before(async () => {

            await redis.open();
            await postgres.open();
            harness = await startServer({
                redisUrl: `redis://127.0.0.1:${redis.port}`,
                databaseUrl: `postgres://127.0.0.1:${postgres.port}/${(await import('./lib/harness')).uniqueName('talky_test')}`
            });
        });

        after(async () => {

            await redis.open();
            await postgres.open();
            await harness.cleanup();
            await redis.cut();
            await postgres.cut();
        });

        const status = async () => (await harness.server.inject('/api/v1/health')).result as { checks: Record<string, string> };

        it('reports Redis down and recovers by itself when it returns', async () => {

            await waitFor(async () => (await status()).checks.redis === 'ok');
            await redis.cut();
            await waitFor(async () => (await status()).checks.redis !== 'ok');
            expect((await status()).checks.database).to.equal('ok');

            await redis.open();
            await waitFor(async () => (await status()).checks.redis === 'ok');
        });

        it('reports PostgreSQL down and recovers by itself when it returns', async () => {

            await postgres.cut();
            const down = await harness.server.inject('/api/v1/health');
            expect(down.statusCode).to.equal(503);
            expect(down.result).to.include({ detail: 'database is unreachable' });

            await postgres.open();
            await waitFor(async () => (await harness.server.inject('/api/v1/health')).statusCode === 200);
        });
    });
});
