import Path from 'path';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import Joi from 'joi';
import Pino from 'pino';
import { Writable } from 'stream';

import { loadPlugin } from '../core/plugin';
import { createServer } from '../core/server';
import { startServer, testConfig, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;

const echoPath = Path.join(__dirname, 'fixtures', 'echo-plugin');


describe('server', () => {

    let harness: Harness;

    before(async () => {

        harness = await startServer({ plugins: [echoPath] });
    });

    after(() => harness.cleanup());

    describe('plugins', () => {

        it('loads a plugin by module path from TALKY_PLUGINS, with its routes under /api/v1 and its migration', async () => {

            const created = await harness.server.inject({ method: 'POST', url: '/api/v1/echo/notes', payload: { text: 'hello' } });
            expect(created.statusCode).to.equal(201);
            expect(created.result).to.equal({ id: 1, text: 'hello' });

            const listed = await harness.server.inject('/api/v1/echo/notes/');
            expect(listed.statusCode).to.equal(200);
            expect(listed.result).to.equal({ notes: [{ id: 1, text: 'hello' }] });
        });

        it('records migrations without their extension', async () => {

            const rows = await harness.server.plugins.core.db('knex_migrations').select('name');
            expect(rows.map((row) => row.name)).to.include('20260101000000_echo_notes');
        });

        it('takes the plugin, default or module export', () => {

            expect(loadPlugin(echoPath).name).to.equal('echo');
            expect(loadPlugin('./test/fixtures/echo-plugin', Path.join(__dirname, '..')).name).to.equal('echo');
        });

        it('names the module it cannot load', () => {

            expect(() => loadPlugin('talky-no-such-plugin')).to.throw(/TALKY_PLUGINS: cannot load 'talky-no-such-plugin'/);
            expect(() => loadPlugin(Path.join(__dirname, 'lib', 'harness'))).to.throw(/does not export a hapi plugin/);
        });

        it('adds a plugin\'s tenant settings to the tenant\'s', async () => {

            const owner = await signUp(harness.server);
            const shown = await harness.server.inject({ url: '/api/v1/tenants/me/settings', headers: owner.headers });
            expect(shown.result).to.include({ echo_signature: null, disclosure_mode: 'add' });

            const changed = await harness.server.inject({ method: 'PATCH', url: '/api/v1/tenants/me/settings', payload: { echo_signature: ' Echo ' }, headers: owner.headers });
            expect(changed.statusCode, changed.payload).to.equal(200);
            expect(changed.result).to.include({ echo_signature: 'Echo' });
        });

        it('refuses two plugins declaring the same tenant setting', async () => {

            const copycat = { name: 'copycat', tenantSettings: { timezone: Joi.string() }, register: () => undefined };
            await expect(createServer(testConfig(), { plugins: [copycat] })).to.reject('Plugins \'analytics\' and \'copycat\' both declare the tenant setting \'timezone\'');
        });

        it('refuses a provider choice that no plugin provides before listening', async () => {

            const config = testConfig({ telephonyProvider: 'twilio' });
            const server = await createServer(config, {
                plugins: [{ name: 'needs-telephony', register: (srv) => srv.plugins.core.providers.require('telephony') }]
            });

            await expect(server.initialize()).to.reject(/TELEPHONY_PROVIDER is 'twilio' but no plugin provides it \(available: simulator, vonage\)/);
            expect(server.info.started).to.equal(0);
            await server.stop();
        });
    });

    describe('errors', () => {

        it('answers an unknown route with 404 { detail }', async () => {

            const res = await harness.server.inject('/api/v1/nowhere');
            expect(res.statusCode).to.equal(404);
            expect(res.result).to.equal({ detail: 'No route for GET /api/v1/nowhere' });
        });

        it('answers a validation failure with 400 naming the field', async () => {

            const res = await harness.server.inject({ method: 'POST', url: '/api/v1/echo/notes', payload: { text: 'x'.repeat(21) } });
            expect(res.statusCode).to.equal(400);
            expect(res.result).to.equal({ detail: '"text" length must be less than or equal to 20 characters long' });

            const unknown = await harness.server.inject({ method: 'POST', url: '/api/v1/echo/notes', payload: { text: 'a', other: 1 } });
            expect(unknown.statusCode).to.equal(400);
            expect(unknown.result).to.equal({ detail: '"other" is not allowed' });

            const missing = await harness.server.inject({ method: 'POST', url: '/api/v1/echo/notes' });
            expect(missing.statusCode).to.equal(400);
            expect(missing.result).to.equal({ detail: 'The request body must be of type object' });
        });

        it('answers malformed JSON with 400 { detail }', async () => {

            const res = await harness.server.inject({ method: 'POST', url: '/api/v1/echo/notes', payload: '{"text":', headers: { 'content-type': 'application/json' } });
            expect(res.statusCode).to.equal(400);
            expect(res.result).to.equal({ detail: 'Invalid request payload JSON format' });
        });

        it('hides a 500 behind its request id and logs the error', async () => {

            const lines: string[] = [];
            const stream = new Writable({ write: (chunk, encoding, next) => next(void lines.push(chunk.toString())) });
            const config = testConfig({ plugins: [echoPath], logLevel: 'info' });
            const server = await createServer(config, { logStream: stream });
            await server.initialize();

            const res = await server.inject('/api/v1/echo/broken');
            expect(res.statusCode).to.equal(500);
            const { detail } = res.result as { detail: string };
            expect(detail).to.equal(`Internal server error (request ${res.headers['x-request-id']})`);
            expect(res.payload).to.not.contain('secret_table');
            expect(res.payload).to.not.contain('SELECT');

            const logged = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'request failed');
            expect(logged.req_id).to.equal(res.headers['x-request-id']);
            expect(logged.err.message).to.contain('secret_table_that_does_not_exist');
            await server.stop();
            await require('./lib/harness').dropTestData(config);
        });
    });

    describe('logging', () => {

        it('redacts authorization headers and secrets', () => {

            const lines: string[] = [];
            const stream = new Writable({ write: (chunk, encoding, next) => next(void lines.push(chunk.toString())) });
            const logger = Pino({ redact: { paths: require('../core/logging').redactPaths, censor: '[redacted]' } }, stream);
            logger.info({ req: { headers: { authorization: 'Bearer abc', cookie: 'sid=1' } }, token: 't', body: { password: 'p' } }, 'x');
            const entry = JSON.parse(lines[0]!);
            expect(entry.req.headers).to.equal({ authorization: '[redacted]', cookie: '[redacted]' });
            expect(entry.token).to.equal('[redacted]');
            expect(entry.body.password).to.equal('[redacted]');
        });
    });

    describe('docs', () => {

        it('serves an OpenAPI 3 document of every documented route', async () => {

            const res = await harness.server.inject('/api/v1/openapi.json');
            expect(res.statusCode).to.equal(200);
            const doc = res.result as { openapi: string; paths: Record<string, unknown> };
            expect(doc.openapi).to.match(/^3\./);
            expect(doc.paths).to.include(['/api/v1/health', '/api/v1/echo/notes']);
        });

        it('serves the docs page', async () => {

            const res = await harness.server.inject('/docs');
            expect(res.statusCode).to.equal(200);
            expect(res.payload).to.contain('<html');
        });

        it('gives every API route a description, tags and a response shape', () => {

            for (const route of harness.server.table()) {
                if (!route.path.startsWith('/api/v1/') || route.path === '/api/v1/openapi.json') {
                    continue;
                }

                const where = `${route.method} ${route.path}`;
                expect(route.settings.description, where).to.be.a.string();
                expect(route.settings.tags, where).to.include('api');
                const response = route.settings.response as { schema?: unknown; status?: unknown } | undefined;
                expect(response?.schema ?? response?.status, where).to.exist();
            }
        });
    });

    describe('roles', () => {

        it('serves only health and metrics from a worker process', async () => {

            const config = testConfig({ role: 'worker', plugins: [echoPath], metricsToken: 'metrics-token-0123456789' });
            const server = await createServer(config);
            await server.initialize();

            const health = await server.inject('/api/v1/health');
            expect(health.statusCode).to.equal(200);

            const route = await server.inject('/api/v1/echo/notes');
            expect(route.statusCode).to.equal(404);
            expect(route.result).to.equal({ detail: 'This is a worker process; it serves only /api/v1/health and /api/v1/metrics' });

            const metrics = await server.inject({ url: '/api/v1/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } });
            expect(metrics.statusCode).to.equal(200);
            expect(metrics.payload).to.contain('talky_queue_jobs');

            await server.stop();
            await require('./lib/harness').dropTestData(config);
        });

        it('leaves out disabled built-in plugins', async () => {

            const config = testConfig({ disabledPlugins: ['voice', 'calls', 'privacy', 'analytics', 'admin', 'live', 'dialer', 'contacts'] });   // the voice and the features over calls need the dialer, which needs contacts
            const server = await createServer(config);
            await server.initialize();

            expect((await server.inject('/api/v1/plans')).statusCode).to.equal(200);
            expect((await server.inject('/api/v1/contacts/dnc')).result).to.equal({ detail: 'No route for GET /api/v1/contacts/dnc' });

            await server.stop();
            await require('./lib/harness').dropTestData(config);
        });
    });
});
