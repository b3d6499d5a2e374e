import Crypto from 'crypto';
import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import Code from '@hapi/code';
import Jwt from '@hapi/jwt';
import Lab from '@hapi/lab';
import type { Server } from '@hapi/hapi';

import { callStatuses, TelephonyError } from '../plugins/dialer/telephony';
import { readPrivateKey } from '../plugins/vonage';
import { ApplicationAuth } from '../plugins/vonage/auth';
import { parseCallRecord } from '../plugins/vonage/events';
import { connectNcco } from '../plugins/vonage/ncco';
import { queryBody, signWebhook } from '../plugins/vonage/signature';
import { telephonyError, VonageTelephony } from '../plugins/vonage/telephony';
import { webhookUrls } from '../plugins/vonage/urls';
import { verifyVoiceToken, voiceToken } from '../plugins/voice/token';
import { startVonage, type VonageSimulator } from './fakes/vonage';
import { startServer, waitFor, type Harness } from './lib/harness';
import { lifecycleDouble, type Recorded } from './lib/lifecycle';
import { closedPort } from './lib/proxy';
import { startTalkySide, type TalkySide } from './lib/webhooks';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const secret = 'vonage-signature-secret-0123456789';


const rejection = async (promise: Promise<unknown>) => {

    const err = await expect(promise).to.reject();
    expect(err).to.be.an.instanceof(TelephonyError);
    return err as TelephonyError;
};


const adapterFor = (vonage: VonageSimulator, talky: TalkySide, overrides: Partial<ConstructorParameters<typeof VonageTelephony>[0]> = {}) => new VonageTelephony({
    applicationId: vonage.applicationId,
    privateKey: vonage.privateKey,
    apiHost: vonage.url,
    publicUrl: talky.url,
    fromNumber: '+14155550100',
    ...overrides
});


describe('vonage adapter', () => {

    let vonage: VonageSimulator;
    let talky: TalkySide;
    let telephony: VonageTelephony;

    before(async () => {

        talky = await startTalkySide(secret);
        vonage = await startVonage({ outcomes: 'answered:1', signatureSecret: secret });
        telephony = adapterFor(vonage, talky);
    });

    after(async () => {

        await vonage.stop();
        await talky.close();
    });

    it('places a call with Talky\'s webhooks, caller id, ringing timer and machine detection', async () => {

        const placed = await telephony.placeCall({ callId: 'call-1', attempt: 3, to: '+12125550123', ringingTimeoutSeconds: 30, machineDetection: true });
        expect(placed.providerCallId).to.match(/^[\da-f-]{36}$/);
        expect(placed.conversationId!).to.startWith('CON-');

        const { request } = vonage.calls.get(placed.providerCallId)!;
        expect(request.to).to.equal([{ type: 'phone', number: '12125550123' }]);
        expect(request.from).to.equal({ type: 'phone', number: '14155550100' });
        expect(request.answer_url).to.equal([`${talky.url}/api/v1/webhooks/vonage/answer?call_id=call-1&attempt=3`]);
        expect(request.event_url).to.equal([`${talky.url}/api/v1/webhooks/vonage/event?call_id=call-1&attempt=3`]);
        expect(request.ringing_timer).to.equal(30);
        expect(request.machine_detection).to.equal('continue');

        await vonage.drained();
        const answer = talky.received.find((received) => received.url.pathname.endsWith('/answer') && received.url.searchParams.get('uuid') === placed.providerCallId)!;
        expect(answer.url.searchParams.get('call_id')).to.equal('call-1');
        expect(answer.problem).to.be.null();
        expect(talky.statuses(placed.providerCallId)).to.include(['answered', 'completed']);
    });

    it('uses the request\'s caller id over the configured one, and needs one of them', async () => {

        const placed = await telephony.placeCall({ callId: 'call-2', attempt: 1, to: '+12125550124', from: '+14155550199' });
        expect(vonage.calls.get(placed.providerCallId)!.request.from.number).to.equal('14155550199');
        expect(vonage.calls.get(placed.providerCallId)!.request.machine_detection).to.not.exist();

        const err = await rejection(adapterFor(vonage, talky, { fromNumber: undefined }).placeCall({ callId: 'call-3', attempt: 1, to: '+12125550125' }));
        expect(err.retryable).to.be.false();
        expect(err.message).to.contain('VONAGE_FROM_NUMBER');
    });

    it('refuses a private key that is not one', () => {

        expect(() => adapterFor(vonage, talky, { privateKey: 'not a key' })).to.throw();
    });

    it('maps 401 from a wrong key to a refusal that is not retryable', async () => {

        const { privateKey } = Crypto.generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
        const err = await rejection(adapterFor(vonage, talky, { privateKey }).placeCall({ callId: 'call-4', attempt: 1, to: '+12125550126' }));
        expect(err.status).to.equal(401);
        expect(err.retryable).to.be.false();
        expect(err.message).to.contain('correct credentials');
    });

    it('maps 400 to a refusal naming the parameter, not retryable', async () => {

        const err = await rejection(telephony.placeCall({ callId: 'call-5', attempt: 1, to: 'not-a-number' }));
        expect(err.status).to.equal(400);
        expect(err.retryable).to.be.false();
        expect(err.message).to.contain('to.0.number');
    });

    it('maps 429 to a retryable refusal with its Retry-After', async () => {

        const slow = await startVonage({ callsPerSecond: 1 });
        try {
            const adapter = adapterFor(slow, talky);
            await adapter.placeCall({ callId: 'call-6', attempt: 1, to: '+12125550127' });
            const err = await rejection(adapter.placeCall({ callId: 'call-7', attempt: 1, to: '+12125550128' }));
            expect(err.status).to.equal(429);
            expect(err.retryable).to.be.true();
            expect(err.retryAfterMs).to.equal(1000);
            expect(slow.stats.throttled).to.equal(1);
        }
        finally {
            await slow.stop();
        }
    });

    it('maps a provider that cannot be reached to a retryable refusal', async () => {

        const err = await rejection(adapterFor(vonage, talky, { apiHost: `http://127.0.0.1:${await closedPort()}` }).placeCall({ callId: 'call-8', attempt: 1, to: '+12125550129' }));
        expect(err.retryable).to.be.true();
        expect(err.status).to.not.exist();
        expect(err.message).to.contain('Could not reach Vonage');
    });

    it('maps 5xx bodies and Retry-After dates', async () => {

        const later = new Date(Date.now() + 5000).toUTCString();
        const err = await telephonyError({ response: new Response('{"title":"Service Unavailable"}', { status: 503, headers: { 'retry-after': later } }) }, 'place the call');
        expect(err.retryable).to.be.true();
        expect(err.message).to.equal('Vonage refused to place the call (503): Service Unavailable');
        expect(err.retryAfterMs!).to.be.between(1000, 5001);

        const plain = await telephonyError({ response: new Response('upstream broke', { status: 502, headers: { 'retry-after': 'soon' } }) }, 'hang up');
        expect(plain.message).to.equal('Vonage refused to hang up (502): upstream broke');
        expect(plain.retryAfterMs).to.not.exist();

        const given = new TelephonyError('already', false);
        expect(await telephonyError(given, 'x')).to.shallow.equal(given);
    });

    it('hangs up, transfers and looks up a call', async () => {

        const slow = await startVonage({ outcomes: 'answered:1', timeScale: 0.05 });
        try {
            const adapter = adapterFor(slow, talky);
            const first = await adapter.placeCall({ callId: 'call-9', attempt: 1, to: '+12125550130' });
            await adapter.transfer(first.providerCallId, '+12125550999');
            expect(slow.calls.get(first.providerCallId)!.transferredTo).to.equal({ type: 'ncco', ncco: [{ action: 'connect', from: '14155550100', endpoint: [{ type: 'phone', number: '12125550999' }] }] });

            await adapter.hangup(first.providerCallId);
            await slow.drained();
            expect(slow.calls.get(first.providerCallId)!.sent).to.include(['cancelled', 'completed']);

            const found = await adapter.lookup(first.providerCallId);
            expect(found).to.include({ providerCallId: first.providerCallId, status: 'completed', durationSeconds: 0, price: 0 });
            expect(found!.conversationId!).to.startWith('CON-');
            expect(found!.endedAt).to.be.a.date();

            expect(await adapter.lookup(Crypto.randomUUID())).to.be.null();

            const err = await rejection(adapter.hangup(Crypto.randomUUID()));
            expect(err.status).to.equal(404);
            expect(err.retryable).to.be.false();

            await expect(adapter.transfer(Crypto.randomUUID(), '+12125550999')).to.reject(TelephonyError, /404/);
            await expect(adapterFor(slow, talky, { apiHost: `http://127.0.0.1:${await closedPort()}` }).lookup(first.providerCallId)).to.reject(TelephonyError, /Could not reach/);
        }
        finally {
            await slow.stop();
        }
    });

    it('fetches a recording with the application\'s token', async () => {

        talky.ncco = (request) => [
            { action: 'record', eventUrl: [`${talky.url}/api/v1/webhooks/vonage/recording?call_id=rec`], channels: 2, split: 'conversation', format: 'wav' },
            { action: 'talk', text: 'Hello there' }
        ];

        const placed = await telephony.placeCall({ callId: 'rec', attempt: 1, to: '+12125550131' });
        const webhook = (await waitFor(() => talky.received.find((received) => received.url.pathname.endsWith('/recording'))))!;
        expect(webhook.problem).to.be.null();
        expect(webhook.json).to.include({ conversation_uuid: vonage.calls.get(placed.providerCallId)!.conversationUuid });

        const stream = await telephony.fetchRecording(webhook.json!.recording_url);
        const chunks: Buffer[] = [];
        for await (const chunk of stream) {
            chunks.push(chunk as Buffer);
        }

        const wav = Buffer.concat(chunks);
        expect(wav.subarray(0, 4).toString()).to.equal('RIFF');
        expect(wav.length).to.equal(webhook.json!.size);
        expect(wav.readUInt16LE(22)).to.equal(2);                  // two channels

        const missing = await rejection(telephony.fetchRecording(`${vonage.url}/v1/files/${Crypto.randomUUID()}`));
        expect(missing.status).to.equal(404);

        const { privateKey } = Crypto.generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
        await expect(adapterFor(vonage, talky, { privateKey }).fetchRecording(webhook.json!.recording_url)).to.reject(TelephonyError, /401/);

        const foreign = await rejection(telephony.fetchRecording('https://recordings.example.com/v1/files/1'));
        expect(foreign.message).to.contain('not a Vonage address');
        await expect(adapterFor(vonage, talky, { apiHost: `http://127.0.0.1:${await closedPort()}` }).fetchRecording(`http://127.0.0.1:${await closedPort()}/x`)).to.reject(TelephonyError);
    });

    it('signs one token a minute for all its requests, each good for fifteen minutes', async () => {

        let now = Date.now();
        const auth = new ApplicationAuth(vonage.applicationId, vonage.privateKey, () => now);
        const first = await auth.createBearerHeader();
        now += 59_999;
        expect(await auth.createBearerHeader()).to.equal(first);
        now += 1;
        const second = await auth.createBearerHeader();
        expect(second).to.not.equal(first);

        for (const header of [first, second]) {
            expect(header).to.startWith('Bearer ');
            const artifacts = Jwt.token.decode(header.slice(7));
            Jwt.token.verifySignature(artifacts, { key: vonage.publicKey, algorithm: 'RS256' });
            const claims = artifacts.decoded.payload as { application_id: string; iat: number; exp: number; jti: string };
            expect(claims.application_id).to.equal(vonage.applicationId);
            expect(claims.exp - claims.iat).to.equal(15 * 60);
        }
    });

    it('reads a call record as the SDK or the wire writes it', () => {

        expect(parseCallRecord({ uuid: 'u', status: 'ringing' })).to.include({ providerCallId: 'u', status: 'ringing' });
        expect(parseCallRecord({ uuid: 'u', status: 'started', start_time: '2026-01-01T00:00:00Z', duration: '3' })).to.include({ startedAt: new Date('2026-01-01T00:00:00Z'), durationSeconds: 3 });
        expect(parseCallRecord({ uuid: 'u', status: 'pondering' })).to.be.null();
        expect(parseCallRecord({ status: 'completed' })).to.be.null();
    });
});


describe('vonage provider', () => {

    it('is built from the settings, with the private key as a path or as PEM', async () => {

        const vonage = await startVonage({ outcomes: 'rejected:1' });
        const folder = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-key-'));
        const keyFile = Path.join(folder, 'private.key');
        Fs.writeFileSync(keyFile, vonage.privateKey);

        expect(readPrivateKey(vonage.privateKey)).to.equal(vonage.privateKey);
        expect(readPrivateKey(keyFile)).to.equal(vonage.privateKey);

        const harness = await startServer({
            telephonyProvider: 'vonage',
            vonageApplicationId: vonage.applicationId,
            vonagePrivateKey: keyFile,
            vonageFromNumber: '+14155550100',
            vonageApiHost: vonage.url
        });

        try {
            const telephony = harness.server.plugins.core.providers.get('telephony');
            const placed = await telephony.placeCall({ callId: 'c', attempt: 1, to: '+12125550132' });
            expect(vonage.calls.get(placed.providerCallId)!.request.from.number).to.equal('14155550100');
        }
        finally {
            await harness.cleanup();
            await vonage.stop();
            Fs.rmSync(folder, { recursive: true, force: true });
        }
    });
});


describe('vonage webhooks', () => {

    const recorded: Recorded = { answers: [], events: [], recordings: [] };
    let harness: Harness;
    let server: Server;

    before(async () => {

        harness = await startServer({
            publicUrl: 'https://talky.example.com',
            vonageSignatureSecret: secret,
            vonageFromNumber: '+14155550100',
            disabledPlugins: ['voice', 'dialer', 'calls', 'privacy', 'analytics', 'admin', 'live']
        }, { plugins: [lifecycleDouble(recorded)] });

        server = harness.server;
    });

    after(() => harness.cleanup());

    const forget = () => {

        recorded.answers.length = 0;
        recorded.events.length = 0;
        recorded.recordings.length = 0;
    };

    const nothingCalled = () => expect(recorded).to.equal({ answers: [], events: [], recordings: [] });

    const post = (url: string, body: object | string, key: string | null = secret, signed = body) => {

        const raw = typeof body === 'string' ? body : JSON.stringify(body);
        const signedRaw = typeof signed === 'string' ? signed : JSON.stringify(signed);
        return server.inject({
            method: 'POST',
            url,
            payload: raw,
            headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${signWebhook(key, signedRaw)}` } : {}) }
        });
    };

    const get = (url: string, signedUrl = url) => server.inject({
        url,
        headers: { authorization: `Bearer ${signWebhook(secret, queryBody(new URL(signedUrl, 'http://x').searchParams))}` }
    });

    const connect = (uuid: string, callId: string, attempt: number, answeredAt: number, from = '14155550100') => ({
        action: 'connect',
        eventUrl: [`https://talky.example.com/api/v1/webhooks/vonage/event?call_id=${callId}&attempt=${attempt}`],
        from,
        endpoint: [{
            type: 'websocket',
            uri: `wss://talky.example.com/api/v1/ws/voice/${uuid}?token=${voiceToken(server.plugins.core.config.jwtSecret!, uuid, answeredAt)}`,
            'content-type': 'audio/l16;rate=16000',
            headers: { call_uuid: uuid, call_id: callId }
        }]
    });

    // The voice socket's token carries the answer's time, signed

    const answerTimeOf = (ncco: unknown) => {

        const { endpoint: [{ uri }] } = (ncco as Array<{ action: string; endpoint: Array<{ uri: string }> }>).find((action) => action.action === 'connect')!;
        const token = new URL(uri).searchParams.get('token')!;
        return verifyVoiceToken(server.plugins.core.config.jwtSecret!, new URL(uri).pathname.split('/').at(-1)!, token)!;
    };

    describe('answer', () => {

        it('answers a GET with the NCCO connecting the call to its voice socket', async () => {

            forget();
            const sent = Date.now();
            const res = await get('/api/v1/webhooks/vonage/answer?call_id=c1&attempt=2&to=12125550123&from=14155550111&uuid=u-1&conversation_uuid=CON-1');
            expect(res.statusCode, res.payload).to.equal(200);
            const answeredAt = answerTimeOf(res.result);
            expect(answeredAt).to.be.between(sent - 1, Date.now() + 1);
            expect(res.result).to.equal([connect('u-1', 'c1', 2, answeredAt, '14155550111')]);
            expect(recorded.answers).to.equal([{ callId: 'c1', attempt: 2, providerCallId: 'u-1', conversationId: 'CON-1' }]);
        });

        it('answers a POST the same way, recording first when the plan says so', async () => {

            forget();
            const res = await post('/api/v1/webhooks/vonage/answer?call_id=recorded&attempt=1', { to: '12125550123', uuid: 'u-2', conversation_uuid: 'CON-2' });
            expect(res.statusCode, res.payload).to.equal(200);
            expect(res.result).to.equal([
                {
                    action: 'record',
                    split: 'conversation',
                    channels: 2,
                    format: 'wav',
                    eventUrl: ['https://talky.example.com/api/v1/webhooks/vonage/recording?call_id=recorded'],
                    eventMethod: 'POST'
                },
                connect('u-2', 'recorded', 1, answerTimeOf(res.result))
            ]);

            expect(recorded.answers).to.equal([{ callId: 'recorded', attempt: 1, providerCallId: 'u-2', conversationId: 'CON-2' }]);
        });

        it('ends a call that is not Talky\'s', async () => {

            forget();
            const res = await get('/api/v1/webhooks/vonage/answer?call_id=unknown&attempt=1&uuid=u-3');
            expect(res.statusCode).to.equal(200);
            expect(res.result).to.equal([{ action: 'talk', text: 'This call cannot be connected. Goodbye.' }]);
        });

        it('refuses an answer whose signature is over another query', async () => {

            forget();
            const res = await get('/api/v1/webhooks/vonage/answer?call_id=c1&attempt=2&uuid=u-4', '/api/v1/webhooks/vonage/answer?call_id=c1&attempt=3&uuid=u-4');
            expect(res.statusCode).to.equal(401);
            expect(res.result).to.equal({ detail: 'The webhook signature does not match its body' });
            nothingCalled();
        });

        it('needs the call uuid', async () => {

            forget();
            const res = await get('/api/v1/webhooks/vonage/answer?call_id=c1&attempt=2');
            expect(res.statusCode).to.equal(400);
            expect((res.result as { detail: string }).detail).to.contain('uuid');
            nothingCalled();
        });

        it('puts ws:// in the socket address when PUBLIC_URL is http', () => {

            const [action] = connectNcco(webhookUrls('http://localhost:3000/'), { callId: 'c', record: false }, { uuid: 'u/1', socketToken: 'a-b_c' });
            expect((action as { endpoint: { uri: string }[] }).endpoint[0]!.uri).to.equal('ws://localhost:3000/api/v1/ws/voice/u%2F1?token=a-b_c');
            expect(action).to.not.include('from');
        });
    });

    describe('events', () => {

        const at = '2026-12-04T15:00:00.000Z';

        it('hands every status Talky follows to the dialer', async () => {

            forget();
            for (const status of callStatuses) {
                const id = status === 'machine' || status === 'human' ? { call_uuid: 'u-5' } : { uuid: 'u-5' };
                const res = await post('/api/v1/webhooks/vonage/event?call_id=c5&attempt=4', { ...id, conversation_uuid: 'CON-5', status, direction: 'outbound', timestamp: at, from: '14155550100', to: '12125550123' });
                expect(res.statusCode, `${status}: ${res.payload}`).to.equal(204);
            }

            expect(recorded.events.map((event) => event.status)).to.equal([...callStatuses]);
            for (const event of recorded.events) {
                expect(event).to.include({ callId: 'c5', attempt: 4, providerCallId: 'u-5', conversationId: 'CON-5', timestamp: new Date(at) });
                expect(event.raw.status).to.equal(event.status);
            }
        });

        it('reads numbers written as strings, times, and the detail', async () => {

            forget();
            await post('/api/v1/webhooks/vonage/event?call_id=c6&attempt=1', {
                uuid: 'u-6', status: 'completed', timestamp: at, start_time: '2026-12-04T14:59:00.000Z', end_time: at,
                duration: '60', rate: '0.01400000', price: '0.01400000', network: '23410'
            });

            await post('/api/v1/webhooks/vonage/event', { uuid: 'u-7', status: 'unanswered', detail: 'timeout', duration: 12, price: '' });
            await post('/api/v1/webhooks/vonage/event?call_id=c8', { call_uuid: 'u-8', status: 'machine', sub_state: 'beep_start', timestamp: 'not a time' });

            const [completed, unanswered, machine] = recorded.events;
            expect(completed).to.equal({
                callId: 'c6',
                attempt: 1,
                providerCallId: 'u-6',
                status: 'completed',
                timestamp: new Date(at),
                startedAt: new Date('2026-12-04T14:59:00.000Z'),
                endedAt: new Date(at),
                durationSeconds: 60,
                price: 0.014,
                raw: { uuid: 'u-6', status: 'completed', timestamp: at, start_time: '2026-12-04T14:59:00.000Z', end_time: at, duration: '60', rate: '0.01400000', price: '0.01400000', network: '23410' }
            });

            expect(unanswered).to.include({ providerCallId: 'u-7', detail: 'timeout', durationSeconds: 12 });
            expect(unanswered).to.not.include(['callId', 'attempt', 'price']);
            expect(machine).to.include({ callId: 'c8', providerCallId: 'u-8', status: 'machine', detail: 'beep_start' });
            expect(machine!.timestamp).to.be.a.date();
        });

        it('acknowledges statuses Talky does not follow, and passes them on to nobody', async () => {

            forget();
            for (const status of ['input', 'transfer', 'record', 'dtmf']) {
                const res = await post('/api/v1/webhooks/vonage/event?call_id=c9&attempt=1', { uuid: 'u-9', status });
                expect(res.statusCode).to.equal(204);
            }

            nothingCalled();
        });

        it('answers 400 to an event without a call uuid or status, or without JSON', async () => {

            forget();
            const noUuid = await post('/api/v1/webhooks/vonage/event', { status: 'answered' });
            expect(noUuid.statusCode).to.equal(400);
            expect((noUuid.result as { detail: string }).detail).to.contain('uuid');

            const noStatus = await post('/api/v1/webhooks/vonage/event', { uuid: 'u' });
            expect(noStatus.statusCode).to.equal(400);

            const broken = await post('/api/v1/webhooks/vonage/event', '{"uuid": "u", "status":');
            expect(broken.statusCode).to.equal(400);
            expect(broken.result).to.equal({ detail: 'The request body is not valid JSON' });

            const empty = await server.inject({ method: 'POST', url: '/api/v1/webhooks/vonage/event', headers: { authorization: `Bearer ${signWebhook(secret, '')}` } });
            expect(empty.statusCode).to.equal(400);
            nothingCalled();
        });

        it('refuses events without a valid signature over their body, and calls nothing', async () => {

            forget();
            const body = { uuid: 'u-10', status: 'answered' };

            const unsigned = await post('/api/v1/webhooks/vonage/event', body, null);
            expect(unsigned.statusCode).to.equal(401);
            expect(unsigned.result).to.equal({ detail: 'Missing webhook signature' });

            const forged = await post('/api/v1/webhooks/vonage/event', body, 'another-secret-another-secret');
            expect(forged.statusCode).to.equal(401);
            expect(forged.result).to.equal({ detail: 'Invalid webhook signature' });

            const swapped = await post('/api/v1/webhooks/vonage/event', body, secret, { uuid: 'u-10', status: 'completed' });
            expect(swapped.statusCode).to.equal(401);
            expect(swapped.result).to.equal({ detail: 'The webhook signature does not match its body' });

            const garbage = await server.inject({ method: 'POST', url: '/api/v1/webhooks/vonage/event', payload: body, headers: { authorization: 'Bearer not.a.jwt' } });
            expect(garbage.statusCode).to.equal(401);

            const bytes = JSON.stringify(body);
            const respaced = await post('/api/v1/webhooks/vonage/event', JSON.stringify(body, null, 1), secret, bytes);
            expect(respaced.statusCode).to.equal(401);                    // the same JSON, other bytes

            const recording = await post('/api/v1/webhooks/vonage/recording', { recording_url: 'https://api.nexmo.com/v1/files/1', recording_uuid: 'r' }, 'another-secret-another-secret');
            expect(recording.statusCode).to.equal(401);

            nothingCalled();
        });
    });

    describe('recordings', () => {

        it('hands a finished recording to the dialer', async () => {

            forget();
            const body = {
                start_time: '2026-12-04T15:00:00Z', recording_url: 'https://api.nexmo.com/v1/files/abc', size: '12345', recording_uuid: 'abc',
                end_time: '2026-12-04T15:01:00Z', conversation_uuid: 'CON-11', timestamp: '2026-12-04T15:01:01Z'
            };

            const res = await post('/api/v1/webhooks/vonage/recording?call_id=c11', body);
            expect(res.statusCode, res.payload).to.equal(204);
            expect(recorded.recordings).to.equal([{
                callId: 'c11',
                conversationId: 'CON-11',
                recordingId: 'abc',
                url: 'https://api.nexmo.com/v1/files/abc',
                startedAt: new Date('2026-12-04T15:00:00Z'),
                endedAt: new Date('2026-12-04T15:01:00Z'),
                size: 12345,
                raw: body
            }]);
        });

        it('needs the recording\'s address', async () => {

            forget();
            const res = await post('/api/v1/webhooks/vonage/recording?call_id=c12', { recording_uuid: 'abc' });
            expect(res.statusCode).to.equal(400);
            nothingCalled();
        });
    });
});


describe('vonage webhooks without a secret or a dialer', () => {

    let harness: Harness;

    before(async () => {

        harness = await startServer({ disabledPlugins: ['voice', 'dialer', 'calls', 'privacy', 'analytics', 'admin', 'live'] });
    });

    after(() => harness.cleanup());

    it('checks no signature, and answers 503 while the dialer is away', async () => {

        const res = await harness.server.inject({ method: 'POST', url: '/api/v1/webhooks/vonage/event', payload: { uuid: 'u', status: 'answered' } });
        expect(res.statusCode).to.equal(503);
        expect(res.result).to.equal({ detail: 'The dialer is not running in this process' });

        const answer = await harness.server.inject('/api/v1/webhooks/vonage/answer?uuid=u');
        expect(answer.statusCode).to.equal(503);
    });
});
