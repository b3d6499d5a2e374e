import Crypto from 'crypto';
import Net from 'net';

import Code from '@hapi/code';
import type { Server } from '@hapi/hapi';
import Lab from '@hapi/lab';
import { Registry } from 'prom-client';

import { load } from '../config';
import { createServer } from '../core/server';
import { speech as espeakSpeech } from '../plugins/espeak/tts';
import { VoiceLeg } from '../plugins/simulator/voice';
import type { Latency } from '../plugins/voice/agent';
import { voiceToken } from '../plugins/voice/token';
import { signWebhook } from '../plugins/vonage/signature';
import { startServer, waitFor, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const token = 'metrics-token-0123456789abcdef';

const secret = 'vonage-signature-secret-0123456789';


// Prometheus's text format, read back into samples: a name, its labels and its value

interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}


const samplesOf = (text: string): Sample[] => text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => {

    const [, name, labels = '', value] = /^([\w:]+)(?:\{(.*)\})? (\S+)$/.exec(line)!;
    return { name: name!, labels: Object.fromEntries([...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map(([, key, label]) => [key, label])), value: Number(value) };
});


// The value of the one sample with exactly these labels; undefined when there is none

const valueOf = (text: string, name: string, labels: Record<string, string> = {}) => {

    const sameLabels = (sample: Sample) => Object.keys(sample.labels).length === Object.keys(labels).length && Object.entries(labels).every(([key, label]) => sample.labels[key] === label);
    return samplesOf(text).find((sample) => sample.name === name && sameLabels(sample))?.value;
};


const scrape = async (server: Server) => {

    const res = await server.inject({ url: '/api/v1/metrics', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode, res.payload).to.equal(200);
    return res.payload;
};


// A campaign with one lead and its dialer job, through the API where the API makes them

const leadOf = async (server: Server) => {

    const { db } = server.plugins.core;
    const owner = await signUp(server);
    const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Metrics test', goal: 'book a demo', script_config: { agent_name: 'Ava', company_name: 'Acme' } } });
    expect(created.statusCode, created.payload).to.equal(201);
    const campaignId = (created.result as { id: string }).id;
    const [lead] = await db('leads').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, phone_number: '+12125550100', first_name: 'Sam', status: 'calling' }).returning('id');
    const [job] = await db('dialer_jobs').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: lead.id, status: 'in_call', attempt: 1 }).returning('id');
    return { owner, campaignId, leadId: lead.id as string, jobId: job.id as string };
};


const callOf = async (server: Server, status: string) => {

    const { owner, campaignId, leadId, jobId } = await leadOf(server);
    const id = Crypto.randomUUID();
    const uuid = `vonage-${id}`;
    await server.plugins.core.db('calls').insert({ id, tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: leadId, job_id: jobId, attempt: 1, provider: 'simulator', provider_call_id: uuid, to_number: '+12125550100', status, answered_at: new Date() });
    return { id, uuid };
};


describe('metrics without METRICS_TOKEN', () => {

    let harness: Harness;

    before(async () => {

        harness = await startServer({ role: 'api' });
    });

    after(() => harness.cleanup());

    it('answers 404 saying how to turn them on, token or not', async () => {

        for (const headers of [{}, { authorization: `Bearer ${token}` }]) {
            const res = await harness.server.inject({ url: '/api/v1/metrics', headers });
            expect(res.statusCode).to.equal(404);
            expect(res.result).to.equal({ detail: 'Metrics are off: set METRICS_TOKEN' });
        }
    });
});


describe('metrics', () => {

    let harness: Harness;
    let server: Server;

    before(async () => {

        // The api role runs no queue workers: the tests' own jobs stay where they put them. The
        // worker process one test starts leaves the calls alone (no reconciling while it runs).

        harness = await startServer({ role: 'api', metricsToken: token, vonageSignatureSecret: secret, dialerReconcileSeconds: 3600 }, { listen: true });
        server = harness.server;
    });

    after(() => harness.cleanup());

    it('asks for the token as a bearer token, and refuses any other', async () => {

        const wrongs = [{}, { authorization: 'Bearer metrics-token-0123456789abcdeX' }, { authorization: `Basic ${token}` }, { authorization: `Bearer ${token}x` }, { authorization: 'Bearer' }];
        for (const headers of wrongs) {
            const res = await server.inject({ url: '/api/v1/metrics', headers });
            expect(res.statusCode, JSON.stringify(headers)).to.equal(401);
            expect(res.result).to.equal({ detail: 'Metrics need Authorization: Bearer <METRICS_TOKEN>' });
            expect(res.headers['www-authenticate'] as string).to.startWith('Bearer');
        }
    });

    it('answers Prometheus\'s text format, with the runtime\'s metrics and a help string for each of its own', async () => {

        const res = await server.inject({ url: '/api/v1/metrics', headers: { authorization: `bearer ${token}` } });
        expect(res.statusCode).to.equal(200);
        expect(res.headers['content-type']).to.equal(new Registry().contentType);

        const text = res.payload;
        expect(valueOf(text, 'process_cpu_user_seconds_total')!).to.be.at.least(0);
        expect(valueOf(text, 'nodejs_heap_size_used_bytes')!).to.be.above(0);

        const own = ['talky_http_request_duration_seconds', 'talky_queue_jobs', 'talky_calls_live', 'talky_voice_sockets_open', 'talky_voice_response_seconds', 'talky_voice_endpointing_seconds', 'talky_voice_stt_seconds', 'talky_voice_llm_seconds', 'talky_voice_tts_seconds', 'talky_voice_overhead_seconds', 'talky_webhook_lag_seconds', 'talky_scrape_read_errors_total'];
        const helped = [...text.matchAll(/^# HELP (talky_\w+) \S.{20,}$/gm)].map(([, name]) => name);
        expect(helped).to.only.include(own);
        expect(helped).to.have.length(own.length);
    });

    it('times requests by their route\'s template, never their raw path, and leaves its own route out', async () => {

        const { owner, campaignId } = await leadOf(server);
        const route = '/api/v1/campaigns/{campaign_id}';
        const count = (text: string, method: string, template: string, status: number) => valueOf(text, 'talky_http_request_duration_seconds_count', { method, route: template, status_code: String(status) }) ?? 0;
        const sum = (text: string) => valueOf(text, 'talky_http_request_duration_seconds_sum', { method: 'GET', route, status_code: '200' }) ?? 0;

        const earlier = await scrape(server);
        const started = Date.now();
        for (const id of [campaignId, campaignId, Crypto.randomUUID()]) {
            await server.inject({ url: `/api/v1/campaigns/${id}`, headers: owner.headers });
        }

        const elapsed = (Date.now() - started) / 1000;
        expect((await server.inject('/api/v1/no/such/route')).statusCode).to.equal(404);
        const text = await scrape(server);

        expect(count(text, 'GET', route, 200) - count(earlier, 'GET', route, 200)).to.equal(2);
        expect(count(text, 'GET', route, 404) - count(earlier, 'GET', route, 404)).to.equal(1);
        expect(count(text, 'GET', '(unmatched)', 404) - count(earlier, 'GET', '(unmatched)', 404)).to.equal(1);
        expect(count(text, 'POST', '/api/v1/campaigns', 201)).to.be.at.least(1);
        expect(sum(text) - sum(earlier)).to.be.within(0, elapsed + 0.002);          // seconds, not milliseconds

        expect(text).to.not.contain(campaignId);
        expect(text).to.not.contain('/no/such/route');
        expect(text).to.not.contain('route="/api/v1/metrics"');
    });

    it('counts a request whose client went away before its answer as 499', async () => {

        const route = '/api/v1/webhooks/vonage/event';
        const gone = (text: string) => valueOf(text, 'talky_http_request_duration_seconds_count', { method: 'POST', route, status_code: '499' }) ?? 0;
        const earlier = await scrape(server);

        // Half a body, then nothing: hapi is still reading it when the connection drops

        const socket = Net.connect(server.info.port as number, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(`POST ${route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"uuid":`);
        await new Promise((resolve) => setTimeout(resolve, 50));
        socket.destroy();

        await waitFor(async () => gone(await scrape(server)) - gone(earlier) === 1);
    });

    it('counts a queue\'s jobs by state, a failed one included', async () => {

        const name = `metrics-${Crypto.randomBytes(4).toString('hex')}`;
        const jobs = (text: string, state: string, queue = name) => valueOf(text, 'talky_queue_jobs', { queue, state });
        const fails = () => Promise.reject(new Error('Fails on purpose'));

        // Declared in this api process, which runs no workers: the job waits

        const { queues } = server.plugins.core;
        queues.process(name, fails, { keepFailed: true });
        await queues.add(name, [{ id: 'job-1', data: { n: 1 } }]);

        const waiting = await scrape(server);
        expect(jobs(waiting, 'waiting')).to.equal(1);
        expect(jobs(waiting, 'failed')).to.equal(0);
        expect(jobs(waiting, 'waiting', 'dial-priority')).to.equal(0);          // the dialer's, which no api process handles

        // A worker process takes it and fails it, and the failure stays for an admin to retry

        const worker = await createServer(load({}, { ...harness.config, role: 'worker' }));
        await worker.initialize();
        try {
            worker.plugins.core.queues.process(name, fails, { keepFailed: true });
            let text = '';
            await waitFor(async () => {

                text = await scrape(server);
                return jobs(text, 'failed') === 1;
            });

            expect(jobs(text, 'waiting')).to.equal(0);
            expect(jobs(text, 'active')).to.equal(0);
            expect(jobs(text, 'delayed')).to.equal(0);
        }
        finally {
            await worker.stop();
        }
    });

    it('leaves out a queue it cannot read, and counts the failure, the other queues still counted', async () => {

        const { queues } = server.plugins.core;
        const name = `metrics-${Crypto.randomBytes(4).toString('hex')}`;
        const failures = (text: string) => valueOf(text, 'talky_scrape_read_errors_total', { source: 'queues' })!;

        queues.process(name, () => Promise.resolve());
        const earlier = await scrape(server);
        expect(valueOf(earlier, 'talky_queue_jobs', { queue: name, state: 'waiting' })).to.equal(0);

        await queues.get(name).close();                                 // its producer's connection gone: checkHealth fails
        const text = await scrape(server);
        expect(failures(text) - failures(earlier)).to.equal(1);
        expect(samplesOf(text).filter((sample) => sample.labels.queue === name)).to.be.empty();
        expect(valueOf(text, 'talky_queue_jobs', { queue: 'auth-mail', state: 'waiting' })).to.exist();
    });

    it('counts the live calls in Postgres by status, and the voice sockets open here', async () => {

        const live = (text: string, status: string) => valueOf(text, 'talky_calls_live', { status });

        const earlier = await scrape(server);
        await callOf(server, 'ringing');
        await callOf(server, 'in_progress');
        await callOf(server, 'in_progress');
        await callOf(server, 'completed');

        const text = await scrape(server);
        expect(live(text, 'dialing')! - live(earlier, 'dialing')!).to.equal(0);
        expect(live(text, 'ringing')! - live(earlier, 'ringing')!).to.equal(1);
        expect(live(text, 'in_progress')! - live(earlier, 'in_progress')!).to.equal(2);
        expect(valueOf(text, 'talky_calls_live', { status: 'completed' })).to.not.exist();

        const voice = server.plugins.voice.metrics;
        voice.activeCalls += 3;
        try {
            expect(valueOf(await scrape(server), 'talky_voice_sockets_open')).to.equal(3);
        }
        finally {
            voice.activeCalls -= 3;
        }
    });

    it('leaves out the live calls when Postgres cannot count them, and counts the failure', async () => {

        const { db } = server.plugins.core;
        const failures = (text: string) => valueOf(text, 'talky_scrape_read_errors_total', { source: 'calls' })!;

        const earlier = await scrape(server);
        expect(valueOf(earlier, 'talky_calls_live', { status: 'ringing' })).to.exist();

        await db.raw('ALTER TABLE calls RENAME TO calls_away');
        try {
            const text = await scrape(server);
            expect(failures(text) - failures(earlier)).to.equal(1);
            expect(samplesOf(text).filter((sample) => sample.name === 'talky_calls_live')).to.be.empty();
            expect(valueOf(text, 'talky_queue_jobs', { queue: 'auth-mail', state: 'waiting' })).to.exist();
        }
        finally {
            await db.raw('ALTER TABLE calls_away RENAME TO calls');
        }
    });

    it('observes each reply\'s latency the voice plugin reports, in seconds', async () => {

        const latency: Latency = { responseMs: 850, endpointingMs: 300, sttMs: null, llmMs: 420, ttsMs: 130, overheadMs: 4 };
        const listeners = server.plugins.voice.onLatency;
        expect(listeners.size).to.equal(1);

        const earlier = await scrape(server);
        listeners.forEach((listener) => listener(latency));            // as the voice plugin does once it has measured a reply
        const text = await scrape(server);

        const added = (name: string, labels: Record<string, string> = {}) => valueOf(text, name, labels)! - valueOf(earlier, name, labels)!;
        expect(added('talky_voice_response_seconds_count')).to.equal(1);
        expect(added('talky_voice_response_seconds_sum')).to.be.about(0.85, 1e-9);
        expect(added('talky_voice_response_seconds_bucket', { le: '0.75' })).to.equal(0);
        expect(added('talky_voice_response_seconds_bucket', { le: '1' })).to.equal(1);
        expect(added('talky_voice_endpointing_seconds_sum')).to.be.about(0.3, 1e-9);
        expect(added('talky_voice_llm_seconds_sum')).to.be.about(0.42, 1e-9);
        expect(added('talky_voice_tts_seconds_sum')).to.be.about(0.13, 1e-9);
        expect(added('talky_voice_overhead_seconds_bucket', { le: '0.005' })).to.equal(1);
        expect(added('talky_voice_overhead_seconds_bucket', { le: '0.0025' })).to.equal(0);
        expect(added('talky_voice_stt_seconds_count')).to.equal(0);      // no STT wait to report
    });

    it('observes a provider event\'s lag from its own timestamp, for signed events only', async () => {

        const lag = (text: string, labels: Record<string, string> = {}) => valueOf(text, `talky_webhook_lag_seconds_${labels.le ? 'bucket' : 'count'}`, { provider: 'vonage', ...labels }) ?? 0;
        const post = (body: object, key = secret) => {

            const raw = JSON.stringify(body);
            return server.inject({ method: 'POST', url: '/api/v1/webhooks/vonage/event', payload: raw, headers: { 'content-type': 'application/json', authorization: `Bearer ${signWebhook(key, raw)}` } });
        };

        const sent = new Date(Date.now() - 90_000).toISOString();
        const earlier = await scrape(server);

        expect((await post({ uuid: 'not-ours-1', status: 'ringing', timestamp: sent })).statusCode).to.equal(204);
        expect((await post({ uuid: 'not-ours-2', status: 'ringing', timestamp: sent }, 'another-secret-another-secret')).statusCode).to.equal(401);
        expect((await post({ uuid: 'not-ours-3', status: 'ringing' })).statusCode).to.equal(204);

        const text = await scrape(server);
        expect(lag(text) - lag(earlier)).to.equal(1);
        expect(lag(text, { le: '60' }) - lag(earlier, { le: '60' })).to.equal(0);
        expect(lag(text, { le: '120' }) - lag(earlier, { le: '120' })).to.equal(1);
        expect(valueOf(text, 'talky_webhook_lag_seconds_sum', { provider: 'vonage' })! - (valueOf(earlier, 'talky_webhook_lag_seconds_sum', { provider: 'vonage' }) ?? 0)).to.be.within(90, 100);
    });
});


describe('metrics while Redis hangs', () => {

    let harness: Harness;
    let redis: Net.Server;
    const held: Net.Socket[] = [];

    before(async () => {

        // A Redis that takes connections and never answers; no dialer, so no calls to count

        redis = Net.createServer((socket) => held.push(socket));
        await new Promise<void>((resolve) => redis.listen(0, '127.0.0.1', resolve));
        harness = await startServer({
            role: 'api',
            metricsToken: token,
            redisUrl: `redis://127.0.0.1:${(redis.address() as Net.AddressInfo).port}`,
            disabledPlugins: ['voice', 'dialer', 'calls', 'privacy', 'analytics', 'admin', 'live']
        });
    });

    after(async () => {

        held.forEach((socket) => socket.destroy());
        redis.close();
        await harness.cleanup();
    });

    it('still answers within the deadline, leaving out the queues it could not read and counting it', async () => {

        const { config } = harness.server.plugins.core;

        const started = Date.now();
        const text = await scrape(harness.server);
        expect(Date.now() - started).to.be.within(config.healthTimeoutMs - 50, config.healthTimeoutMs + 1000);
        expect(valueOf(text, 'talky_scrape_read_errors_total', { source: 'queues' })).to.equal(1);              // their names, not even known
        expect(samplesOf(text).filter((sample) => sample.name === 'talky_queue_jobs')).to.be.empty();
        expect(valueOf(text, 'nodejs_heap_size_used_bytes')!).to.be.above(0);

        expect(valueOf(text, 'talky_scrape_read_errors_total', { source: 'calls' })).to.equal(0);       // no dialer: nothing read
        expect(samplesOf(text).filter((sample) => sample.name === 'talky_calls_live')).to.be.empty();
    });
});


describe('metrics of a real call', () => {

    // A reply the offline engines make on a voice socket reaches the latency histograms

    it('observes the latency of the agent\'s reply', async () => {

        const harness = await startServer({ metricsToken: token, role: 'api' }, { listen: true });
        const { server, config } = harness;
        const call = await callOf(server, 'in_progress');
        const leg = new VoiceLeg({ uri: `ws://127.0.0.1:${server.info.port}/api/v1/ws/voice/${call.uuid}?token=${voiceToken(config.jwtSecret!, call.uuid, Date.now())}`, contentType: 'audio/l16;rate=16000' }, 1);
        const turns = () => server.plugins.core.db('call_turns').where({ call_id: call.id }).orderBy('seq');
        try {
            await waitFor(async () => (await turns()).length >= 1, 20_000);
            expect(valueOf(await scrape(server), 'talky_voice_sockets_open')).to.equal(1);
            expect(valueOf(await scrape(server), 'talky_voice_response_seconds_count')).to.equal(0);

            leg.say(Buffer.concat([await espeakSpeech('who is this', 16000), Buffer.alloc(32000)]));
            await waitFor(async () => (await turns()).length >= 3, 30_000);

            const [,, reply] = await turns();
            const text = await scrape(server);
            expect(valueOf(text, 'talky_voice_response_seconds_count')).to.equal(1);
            expect(valueOf(text, 'talky_voice_response_seconds_sum')!).to.be.about(reply.response_ms / 1000, 1e-6);
            expect(valueOf(text, 'talky_voice_stt_seconds_count')).to.equal(1);
        }
        finally {
            leg.close();
            await harness.cleanup();
        }
    });
});
