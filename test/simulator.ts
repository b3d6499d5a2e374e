import Code from '@hapi/code';
import Lab from '@hapi/lab';
import { tokenGenerate } from '@vonage/jwt';
import type { WebSocket } from 'ws';

import { load } from '../config';
import { createServer } from '../core/server';
import { TelephonyError } from '../plugins/dialer/telephony';
import { outcomes, parseOutcomes, pick, type Outcome } from '../plugins/simulator/random';
import { VonageTelephony } from '../plugins/vonage/telephony';
import { startVonage, type VonageSimulator } from './fakes/vonage';
import { startServer, testConfig, waitFor } from './lib/harness';
import { lifecycleDouble, type Recorded } from './lib/lifecycle';
import { closedPort } from './lib/proxy';
import { startTalkySide, type TalkySide } from './lib/webhooks';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const secret = 'simulator-signature-secret-0123456789';


const adapterFor = (vonage: VonageSimulator, talky: TalkySide) => new VonageTelephony({
    applicationId: vonage.applicationId,
    privateKey: vonage.privateKey,
    apiHost: vonage.url,
    publicUrl: talky.url,
    fromNumber: '+14155550100'
});


const placeMany = async (vonage: VonageSimulator, talky: TalkySide, count: number) => {

    const telephony = adapterFor(vonage, talky);
    const uuids: string[] = [];
    for (let i = 0; i < count; ++i) {
        const placed = await telephony.placeCall({ callId: `call-${i}`, attempt: 1, to: `+1212555${String(i).padStart(4, '0')}`, machineDetection: true });
        uuids.push(placed.providerCallId);
    }

    await vonage.drained();
    return uuids;
};


const outcomesOf = (vonage: VonageSimulator) => [...vonage.calls.values()].sort((a, b) => a.index - b.index).map((call) => call.outcome);


// What each outcome sends, once repeats are dropped and a swapped start is put back

const expectedOrder: Record<Outcome, string[]> = {
    answered: ['started', 'ringing', 'answered', 'completed'],
    voicemail: ['started', 'ringing', 'answered', 'machine', 'completed'],
    busy: ['started', 'ringing', 'busy', 'completed'],
    no_answer: ['started', 'ringing', 'timeout', 'completed'],
    failed: ['started', 'failed', 'completed'],
    rejected: ['rejected']
};


const normalised = (statuses: string[]) => {

    const once = statuses.filter((status, i) => status !== statuses[i - 1]);
    return once[0] === 'ringing' && once[1] === 'started' ? ['started', 'ringing', ...once.slice(2)] : once;
};


const token = (vonage: VonageSimulator, applicationId = vonage.applicationId) => `Bearer ${tokenGenerate(applicationId, vonage.privateKey)}`;


const api = async (vonage: VonageSimulator, path: string, options: { method?: string; body?: unknown; auth?: string | null } = {}) => {

    const res = await fetch(`${vonage.url}${path}`, {
        method: options.method ?? 'GET',
        headers: {
            'content-type': 'application/json',
            ...(options.auth === null ? {} : { authorization: options.auth ?? token(vonage) })
        },
        body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
    });

    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
};


const callBody = (talky: TalkySide, extra: Record<string, unknown> = {}) => ({
    to: [{ type: 'phone', number: '12125550100' }],
    from: { type: 'phone', number: '14155550100' },
    answer_url: [`${talky.url}/api/v1/webhooks/vonage/answer?call_id=raw`],
    event_url: [`${talky.url}/api/v1/webhooks/vonage/event?call_id=raw`],
    ...extra
});


describe('simulator', () => {

    let talky: TalkySide;

    before(async () => {

        talky = await startTalkySide(secret);
    });

    after(() => talky.close());

    describe('outcomes', () => {

        const weights = 'answered:0.5,busy:0.1,no_answer:0.2,voicemail:0.1,failed:0.05,rejected:0.05';
        let vonage: VonageSimulator;
        let uuids: string[];

        before(async () => {

            vonage = await startVonage({ seed: 42, outcomes: weights, signatureSecret: secret });
            uuids = await placeMany(vonage, talky, 200);
        });

        after(() => vonage.stop());

        it('draws the outcome mix from the weights', () => {

            const counts = Object.fromEntries(outcomes.map((outcome) => [outcome, 0])) as Record<Outcome, number>;
            for (const outcome of outcomesOf(vonage)) {
                ++counts[outcome];
            }

            for (const [outcome, weight] of parseOutcomes(weights)) {
                expect(counts[outcome], outcome).to.be.between(200 * weight - 20, 200 * weight + 20);
                expect(counts[outcome], outcome).to.be.above(0);
            }

            expect(vonage.stats).to.include({ placed: 200, live: 0, throttled: 0, deliveryFailures: 0 });
            expect(vonage.stats.maxLive).to.be.above(0);
        });

        it('draws the same fates from the same seed, and others from another', async () => {

            const again = await startVonage({ seed: 42, outcomes: weights });
            const other = await startVonage({ seed: 43, outcomes: weights });
            try {
                await placeMany(again, talky, 40);
                await placeMany(other, talky, 40);
                expect(outcomesOf(again)).to.equal(outcomesOf(vonage).slice(0, 40));
                expect(outcomesOf(other)).to.not.equal(outcomesOf(vonage).slice(0, 40));
            }
            finally {
                await again.stop();
                await other.stop();
            }
        });

        it('sends each outcome\'s events in Vonage\'s order, sometimes swapped or repeated', () => {

            let swapped = 0;
            let repeated = 0;
            for (const uuid of uuids) {
                const call = vonage.calls.get(uuid)!;
                const statuses = talky.statuses(uuid);
                expect(statuses, call.outcome).to.equal(call.sent);
                expect(normalised(statuses), call.outcome).to.equal(expectedOrder[call.outcome]);
                swapped += statuses.indexOf('ringing') !== -1 && statuses.indexOf('ringing') < statuses.indexOf('started') ? 1 : 0;
                repeated += new Set(statuses).size < statuses.length ? 1 : 0;
            }

            expect(swapped).to.be.above(0);
            expect(repeated).to.be.above(0);
        });

        it('signs every webhook, and fetches the answer URL of answered calls only', () => {

            const ours = talky.received.filter((request) => uuids.includes(request.json?.uuid ?? request.json?.call_uuid ?? request.url.searchParams.get('uuid')));
            expect(ours.length).to.be.above(600);
            expect(ours.filter((request) => request.problem)).to.equal([]);

            const answered = uuids.filter((uuid) => ['answered', 'voicemail'].includes(vonage.calls.get(uuid)!.outcome));
            const answers = talky.received.filter((request) => request.url.pathname.endsWith('/answer') && uuids.includes(request.url.searchParams.get('uuid')!));
            expect(answers.map((request) => request.url.searchParams.get('uuid')).sort()).to.equal(answered.sort());

            const [first] = answers;
            expect(first!.method).to.equal('GET');
            expect([...first!.url.searchParams.keys()]).to.equal(['call_id', 'attempt', 'to', 'from', 'uuid', 'conversation_uuid']);
        });

        it('writes events as Vonage does', () => {

            const voicemail = uuids.find((uuid) => vonage.calls.get(uuid)!.outcome === 'voicemail')!;
            const machine = talky.events().find((request) => request.json!.status === 'machine' && request.json!.call_uuid === voicemail)!;
            expect(machine.json).to.not.include('uuid');

            const answered = uuids.find((uuid) => vonage.calls.get(uuid)!.outcome === 'answered')!;
            const completed = talky.events(answered).find((request) => request.json!.status === 'completed')!.json!;
            expect(completed).to.include({ uuid: answered, direction: 'outbound', rate: '0.01400000', network: '23410', from: '14155550100' });
            expect(completed.duration).to.match(/^\d+$/);
            expect(Number(completed.duration)).to.be.at.least(1);
            expect(completed.price).to.match(/^\d+\.\d{8}$/);
            expect(new Date(completed.end_time).getTime()).to.be.at.least(new Date(completed.start_time).getTime());

            const rejected = uuids.find((uuid) => vonage.calls.get(uuid)!.outcome === 'rejected')!;
            expect(talky.events(rejected)[0]!.json).to.include({ status: 'rejected', detail: 'declined' });
        });
    });

    describe('API', () => {

        let vonage: VonageSimulator;

        before(async () => {

            vonage = await startVonage({ outcomes: 'rejected:1' });
        });

        after(() => vonage.stop());

        it('refuses requests without the application\'s token', async () => {

            for (const auth of [null, 'Bearer nonsense', token(vonage, 'another-application')]) {
                const res = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky), auth });
                expect(res.status).to.equal(401);
                expect(res.body).to.include({ title: 'Unauthorized', detail: 'You did not provide correct credentials.' });
                expect(res.body.type as string).to.startWith('https://');
            }

            expect((await api(vonage, '/v1/files/anything', { auth: null })).status).to.equal(401);
            expect(vonage.stats.placed).to.equal(0);
        });

        it('takes a token again until it expires, and not after', async () => {

            const soon = `Bearer ${tokenGenerate(vonage.applicationId, vonage.privateKey, { exp: Math.floor(Date.now() / 1000) + 2 })}`;
            expect((await api(vonage, '/v1/files/anything', { auth: soon })).status).to.equal(404);
            expect((await api(vonage, '/v1/files/anything', { auth: soon })).status).to.equal(404);
            await new Promise((resolve) => setTimeout(resolve, 2100));
            expect((await api(vonage, '/v1/files/anything', { auth: soon })).status).to.equal(401);
        });

        it('validates the call with RFC 7807 answers', async () => {

            const missing = await api(vonage, '/v1/calls', { method: 'POST', body: { to: [{ type: 'phone', number: 'x' }] } });
            expect(missing.status).to.equal(400);
            expect(missing.headers.get('content-type')).to.equal('application/problem+json');
            expect(missing.body.title).to.equal('Bad Request');
            expect(missing.body.invalid_parameters.map((parameter: { name: string }) => parameter.name)).to.include(['to.0.number', 'from', 'event_url']);

            const both = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky, { ncco: [{ action: 'talk', text: 'hi' }] }) });
            expect(both.status).to.equal(400);

            const broken = await api(vonage, '/v1/calls', { method: 'POST', body: '{"to":' });
            expect(broken.status).to.equal(400);
            expect(broken.body.detail).to.equal('The request body is not valid JSON');

            const large = await api(vonage, '/v1/calls', { method: 'POST', body: JSON.stringify({ padding: 'x'.repeat(1024 * 1024 + 1) }) }).catch(() => ({ status: 413 }));
            expect(large.status).to.equal(413);
        });

        it('answers 404 and 405 where Vonage would', async () => {

            expect((await api(vonage, '/v2/calls')).status).to.equal(404);
            expect((await api(vonage, '/v1/calls/a/b')).status).to.equal(404);
            expect((await api(vonage, '/v1/calls/unknown')).status).to.equal(404);
            expect((await api(vonage, '/v1/calls/unknown', { method: 'PUT', body: { action: 'hangup' } })).status).to.equal(404);
            expect((await api(vonage, '/v1/files/unknown')).status).to.equal(404);
            expect((await api(vonage, '/v1/calls', { method: 'DELETE' })).status).to.equal(405);
        });

        it('answers 201 like Vonage, returns the call record and refuses unknown actions', async () => {

            const created = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky) });
            expect(created.status).to.equal(201);
            expect(created.body).to.include({ status: 'started', direction: 'outbound' });
            expect(Object.keys(created.body).sort()).to.equal(['conversation_uuid', 'direction', 'status', 'uuid']);

            await vonage.drained();
            const record = await api(vonage, `/v1/calls/${created.body.uuid}`);
            expect(record.body).to.include({ uuid: created.body.uuid, status: 'rejected', duration: '0', to: { type: 'phone', number: '12125550100' } });

            const update = await api(vonage, `/v1/calls/${created.body.uuid}`, { method: 'PUT', body: { action: 'explode' } });
            expect(update.status).to.equal(400);
            const transfer = await api(vonage, `/v1/calls/${created.body.uuid}`, { method: 'PUT', body: { action: 'transfer' } });
            expect(transfer.status).to.equal(400);
            const mute = await api(vonage, `/v1/calls/${created.body.uuid}`, { method: 'PUT', body: { action: 'mute' } });
            expect(mute.status).to.equal(204);
        });

        it('limits new calls to 3 per second at real time, more when faster', async () => {

            const realTime = await startVonage({ outcomes: 'rejected:1', timeScale: 1 });
            try {
                const telephony = adapterFor(realTime, talky);
                for (let i = 0; i < 3; ++i) {
                    await telephony.placeCall({ callId: `cps-${i}`, attempt: 1, to: '+12125550100' });
                }

                const err = await expect(telephony.placeCall({ callId: 'cps-4', attempt: 1, to: '+12125550100' })).to.reject(TelephonyError);
                expect(err).to.include({ status: 429, retryable: true });
                expect(realTime.stats).to.include({ placed: 3, throttled: 1 });
            }
            finally {
                await realTime.stop();
            }

            const telephony = adapterFor(vonage, talky);
            for (let i = 0; i < 10; ++i) {
                await telephony.placeCall({ callId: `fast-${i}`, attempt: 1, to: '+12125550100' });
            }
        });
    });

    describe('calls', () => {

        it('obeys an inline NCCO and a POST answer URL', async () => {

            const vonage = await startVonage({ outcomes: 'answered:1', signatureSecret: secret });
            try {
                const inline = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky, { answer_url: undefined, ncco: [{ action: 'talk', text: 'Hello' }] }) });
                const posted = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky, { answer_method: 'POST' }) });
                await vonage.drained();

                expect(talky.received.filter((request) => request.url.searchParams.get('uuid') === inline.body.uuid)).to.equal([]);
                expect(talky.statuses(inline.body.uuid)).to.include(['answered', 'completed']);

                const answer = talky.received.find((request) => request.method === 'POST' && request.json?.uuid === posted.body.uuid && request.url.pathname.endsWith('/answer'))!;
                expect(answer.json).to.equal({ to: '12125550100', from: '14155550100', uuid: posted.body.uuid, conversation_uuid: posted.body.conversation_uuid });
                expect(answer.problem).to.be.null();
            }
            finally {
                await vonage.stop();
            }
        });

        it('retries the answer URL on 503 and events on any error, and gives up in the end', async () => {

            const vonage = await startVonage({ outcomes: 'answered:1', duplicateRate: 0, swapRate: 0 });
            const refused = new Set<string>();
            talky.respond = (request) => {

                const key = `${request.url.pathname}:${request.url.searchParams.get('call_id')}:${request.json?.status}`;
                if (request.url.searchParams.get('call_id') === 'retried' && !refused.has(key)) {
                    refused.add(key);
                    return { status: request.url.pathname.endsWith('/answer') ? 503 : 500 };
                }

                return undefined;
            };

            try {
                const telephony = adapterFor(vonage, talky);
                const placed = await telephony.placeCall({ callId: 'retried', attempt: 1, to: '+12125550100' });
                await vonage.drained();
                expect(talky.statuses(placed.providerCallId)).to.equal(['started', 'started', 'ringing', 'ringing', 'answered', 'answered', 'completed', 'completed']);
                expect(talky.received.filter((request) => request.url.pathname.endsWith('/answer') && request.url.searchParams.get('uuid') === placed.providerCallId)).to.have.length(2);
                expect(vonage.stats.deliveryFailures).to.equal(0);

                const lost = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky, { event_url: [`http://127.0.0.1:${await closedPort()}/event`] }) });
                await vonage.drained();
                expect(vonage.calls.get(lost.body.uuid)!.sent).to.include(['answered', 'completed']);
                expect(vonage.stats.deliveryFailures).to.be.above(0);
            }
            finally {
                talky.respond = () => undefined;
                await vonage.stop();
            }
        });

        it('ends an answered call hung up over REST with completed', async () => {

            const vonage = await startVonage({ outcomes: 'answered:1', timeScale: 0.02, duplicateRate: 0 });
            try {
                const telephony = adapterFor(vonage, talky);
                const placed = await telephony.placeCall({ callId: 'hung', attempt: 1, to: '+12125550100' });
                await waitFor(() => talky.statuses(placed.providerCallId).includes('answered'));
                await telephony.hangup(placed.providerCallId);
                await vonage.drained();

                expect(talky.statuses(placed.providerCallId).slice(-1)).to.equal(['completed']);
                expect(vonage.calls.get(placed.providerCallId)!.duration).to.be.at.least(1);
                expect(vonage.stats.live).to.equal(0);
            }
            finally {
                await vonage.stop();
            }
        });

        it('hangs up on a machine when asked to', async () => {

            const vonage = await startVonage({ outcomes: 'voicemail:1', duplicateRate: 0, swapRate: 0 });
            try {
                const created = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky, { machine_detection: 'hangup' }) });
                const unasked = await api(vonage, '/v1/calls', { method: 'POST', body: callBody(talky) });
                await vonage.drained();
                expect(vonage.calls.get(created.body.uuid)!.sent).to.equal(['started', 'ringing', 'answered', 'machine', 'completed']);
                expect(vonage.calls.get(unasked.body.uuid)!.sent).to.equal(['started', 'ringing', 'answered', 'completed']);
            }
            finally {
                await vonage.stop();
            }
        });

        it('sends no webhook once stopped', async () => {

            const vonage = await startVonage({ outcomes: 'answered:1', timeScale: 0.05 });
            const placed = await adapterFor(vonage, talky).placeCall({ callId: 'stopped', attempt: 1, to: '+12125550100' });
            await waitFor(() => talky.statuses(placed.providerCallId).length);
            await vonage.stop();
            await new Promise((resolve) => setTimeout(resolve, 20));           // bytes already on the wire land

            const seen = talky.received.length;
            await new Promise((resolve) => setTimeout(resolve, 50));
            expect(talky.received.length).to.equal(seen);
            expect(vonage.listening).to.be.false();
            expect(vonage.stats.live).to.equal(0);
        });
    });

    describe('voice', () => {

        it('streams 20 ms frames into Talky\'s socket and honours clear and notify', async () => {

            const vonage = await startVonage({ outcomes: 'answered:1', timeScale: 0.02, voice: true });
            const session = new Promise<{ uuid: string; texts: Record<string, unknown>[]; sizes: number[] }>((resolve) => {

                talky.onSocket = (socket: WebSocket, uuid: string) => {

                    const texts: Record<string, unknown>[] = [];
                    const sizes: number[] = [];
                    socket.on('message', (data: Buffer, isBinary: boolean) => {

                        if (isBinary) {
                            sizes.push(data.length);
                            if (sizes.length === 1) {
                                for (let i = 0; i < 5; ++i) {
                                    socket.send(Buffer.alloc(640));
                                }

                                socket.send(JSON.stringify({ action: 'notify', payload: { mark: 'end' } }));
                            }

                            return;
                        }

                        const message = JSON.parse(data.toString());
                        texts.push(message);
                        if (message.event === 'websocket:notify') {
                            socket.send('not json');
                            socket.send(JSON.stringify({ action: 'clear' }));
                        }

                        if (message.event === 'websocket:cleared') {
                            socket.close();
                            resolve({ uuid, texts, sizes });
                        }
                    });
                };
            });

            try {
                const placed = await adapterFor(vonage, talky).placeCall({ callId: 'voiced', attempt: 1, to: '+12125550100' });
                const { uuid, texts, sizes } = await session;
                await vonage.drained();

                expect(uuid).to.equal(placed.providerCallId);
                expect(texts[0]).to.equal({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=16000', call_uuid: uuid, call_id: 'voiced' });
                expect(texts.slice(1)).to.equal([{ event: 'websocket:notify', payload: { mark: 'end' } }, { event: 'websocket:cleared' }]);
                expect(sizes.length).to.be.above(0);
                expect(sizes.every((size) => size === 640)).to.be.true();

                const call = vonage.calls.get(uuid)!;
                expect(call.voice).to.include({ framesReceived: 5, framesPlayed: 5, clears: 1, notifies: 1 });
                expect(normalised(call.sent).slice(-2)).to.equal(['disconnected', 'completed']);
            }
            finally {
                talky.onSocket = (socket) => socket.close();
                await vonage.stop();
            }
        });

        it('hangs up the socket when the callee hangs up, and carries on when it cannot connect', async () => {

            const vonage = await startVonage({ outcomes: 'answered:1', voice: true, duplicateRate: 0, timeScale: 0.005 });
            const ncco = talky.ncco;
            const opened: string[] = [];
            talky.onSocket = (socket, uuid) => opened.push(uuid);
            try {
                const telephony = adapterFor(vonage, talky);
                const kept = await telephony.placeCall({ callId: 'kept', attempt: 1, to: '+12125550100' });
                await vonage.drained();
                talky.ncco = () => [{ action: 'connect', endpoint: [{ type: 'websocket', uri: `${talky.url.replace('http', 'ws')}/nowhere`, 'content-type': 'audio/l16;rate=8000' }] }, { action: 'talk', text: 'Sorry' }];
                const refused = await telephony.placeCall({ callId: 'refused', attempt: 1, to: '+12125550100' });
                await vonage.drained();

                expect(opened).to.equal([kept.providerCallId]);
                expect(vonage.calls.get(kept.providerCallId)!.voice!.framesSent).to.be.above(0);
                expect(vonage.calls.get(kept.providerCallId)!.sent).to.not.include('disconnected');
                expect(vonage.calls.get(refused.providerCallId)!.sent).to.include(['disconnected', 'completed']);
            }
            finally {
                talky.onSocket = (socket) => socket.close();
                talky.ncco = ncco;
                await vonage.stop();
            }
        });
    });
});


describe('simulator plugin', () => {

    it('dials through the Vonage adapter, and its webhooks reach the dialer', async () => {

        const recorded: Recorded = { answers: [], events: [], recordings: [] };
        const harness = await startServer({
            telephonyProvider: 'simulator',
            vonageSignatureSecret: secret,
            simulatorTimeScale: 0.001,
            simulatorOutcomes: 'answered:1',
            disabledPlugins: ['voice', 'dialer', 'calls', 'privacy', 'analytics', 'admin', 'live']
        }, { plugins: [lifecycleDouble(recorded)], listen: true });

        try {
            const simulator = harness.server.plugins.simulator.instance();
            expect(simulator.listening).to.be.false();

            const telephony = harness.server.plugins.core.providers.get('telephony');
            const placed = await telephony.placeCall({ callId: 'recorded', attempt: 2, to: '+12125550100' });
            expect(simulator.listening).to.be.true();

            await waitFor(() => recorded.recordings.length);
            expect(recorded.answers).to.equal([{ callId: 'recorded', attempt: 2, providerCallId: placed.providerCallId, conversationId: placed.conversationId }]);
            expect(normalised(recorded.events.map((event) => event.status))).to.equal(['started', 'ringing', 'answered', 'completed']);
            expect(recorded.events.every((event) => event.callId === 'recorded' && event.attempt === 2)).to.be.true();

            const stream = await telephony.fetchRecording(recorded.recordings[0]!.url);
            stream.resume();
            await expect(telephony.lookup!(placed.providerCallId)).to.not.reject();
            await telephony.transfer(placed.providerCallId, '+12125550101');
            await telephony.hangup(placed.providerCallId);
            expect(simulator.stats.deliveryFailures).to.equal(0);
        }
        finally {
            await harness.cleanup();
        }

        expect(harness.server.plugins.simulator.instance().listening).to.be.false();
    });

    it('stops a server whose outcome mix names an outcome it does not know', async () => {

        await expect(createServer(testConfig({ simulatorOutcomes: 'answered:1,ghosted:1' }))).to.reject(/unknown outcome 'ghosted'/);
        expect(() => parseOutcomes('answered:0')).to.throw(/above 0/);
        expect(() => parseOutcomes('answered:lots')).to.throw(/must be a number/);
        expect(() => load({}, { simulatorOutcomes: 'answered:x' })).to.throw();
        expect(pick([['busy', 1], ['answered', 0]], () => 1)).to.equal('busy');
    });
});
