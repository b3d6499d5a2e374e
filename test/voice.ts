import Crypto from 'crypto';

import Code from '@hapi/code';
import Lab from '@hapi/lab';
import WebSocket from 'ws';

import { espeakTts } from '../plugins/espeak/tts';
import { VoiceLeg } from '../plugins/simulator/voice';
import { voiceToken } from '../plugins/voice/token';
import { startDeepgram } from './fakes/deepgram';
import { startServer, waitFor, type Harness } from './lib/harness';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


// Speech the caller says, made by espeak-ng at the call's rate

const speech = async (text: string, sampleRate = 16000) => {

    const turn = espeakTts({ voice: 'en-us', wordsPerMinute: 170 }).turn({ sampleRate, signal: new AbortController().signal });
    turn.say(text);
    turn.end();
    const chunks: Buffer[] = [];
    for await (const chunk of turn.audio) {
        chunks.push(chunk);
    }

    return Buffer.concat(chunks);
};


const silence = (ms: number, sampleRate = 16000) => Buffer.alloc(sampleRate / 1000 * ms * 2);


// Deepgram's final words for what the caller said, as it sends them after a Finalize

const results = (text: string) => ({
    type: 'Results',
    channel_index: [0, 1],
    duration: 1,
    start: 0,
    is_final: true,
    speech_final: true,
    from_finalize: true,
    channel: { alternatives: [{ transcript: text, confidence: 0.99, words: [] }] }
});


describe('voice', () => {

    let harness: Harness;
    let deepgram: Awaited<ReturnType<typeof startDeepgram>>;
    let base: string;
    let secret: string;

    before(async () => {

        deepgram = await startDeepgram();
        harness = await startServer({
            sttProvider: 'deepgram',
            deepgramUrl: deepgram.url,
            deepgramApiKey: deepgram.apiKey,
            llmProvider: 'scripted',
            ttsProvider: 'espeak',
            voiceFinalWaitMs: 3000
        }, { listen: true });

        base = `ws://127.0.0.1:${harness.server.info.port}/api/v1/ws/voice`;
        secret = harness.config.jwtSecret!;
    });

    after(async () => {

        await harness.cleanup();
        await deepgram.close();
    });

    // A live call of a campaign, as the dialer leaves it once answered

    const liveCall = async (script: Record<string, unknown> = {}, status = 'in_progress') => {

        const { server } = harness;
        const { db } = server.plugins.core;
        const owner = await signUp(server);
        const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Voice test', goal: 'book a demo', script_config: { agent_name: 'Ava', company_name: 'Acme', ...script } } });
        const campaignId = (created.result as { id: string }).id;
        const [lead] = await db('leads').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, phone_number: '+12125550100', first_name: 'Sam', status: 'calling' }).returning('id');
        const [job] = await db('dialer_jobs').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: lead.id, status: 'in_call', attempt: 1 }).returning('id');
        const id = Crypto.randomUUID();
        const uuid = `vonage-${id}`;
        await db('calls').insert({ id, tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: lead.id, job_id: job.id, attempt: 1, provider: 'simulator', provider_call_id: uuid, to_number: '+12125550100', status, answered_at: new Date() });
        return { id, uuid, tenantId: owner.tenantId };
    };

    const connect = (uuid: string, token = voiceToken(secret, uuid), contentType = 'audio/l16;rate=16000') => {

        return new VoiceLeg({ uri: `${base}/${encodeURIComponent(uuid)}?token=${encodeURIComponent(token)}`, contentType, headers: { call_uuid: uuid } }, 1);
    };

    const turns = (callId: string) => harness.server.plugins.core.db('call_turns').where({ call_id: callId }).orderBy('seq');

    const refusal = (url: string) => new Promise<number>((resolve, reject) => {

        const socket = new WebSocket(url);
        socket.on('unexpected-response', (request, response) => resolve(response.statusCode!));
        socket.on('open', () => reject(new Error('The socket was let in')));
        socket.on('error', () => undefined);
    });

    // The caller says something once the agent has finished its turn; Deepgram's final comes
    // when the agent asks for it (the VAD heard the caller stop)

    const answer = async (leg: VoiceLeg, callId: string, said: string, heardTurns: number) => {

        await waitFor(async () => (await turns(callId)).length >= heardTurns, 20_000);
        const connection = deepgram.connections.at(-1)!;
        const finalizes = connection.controls.filter((control) => control === 'Finalize').length;
        leg.say(Buffer.concat([await speech(said), silence(700)]));
        await waitFor(() => connection.controls.filter((control) => control === 'Finalize').length > finalizes, 20_000);
        connection.send(results(said));
    };

    it('refuses a socket without its call\'s token, or for a call that is not live', async () => {

        const call = await liveCall();
        expect(await refusal(`${base}/${call.uuid}`)).to.equal(401);
        expect(await refusal(`${base}/${call.uuid}?token=${voiceToken('another secret entirely', call.uuid)}`)).to.equal(401);
        expect(await refusal(`${base}/unknown-call?token=${voiceToken(secret, 'unknown-call')}`)).to.equal(404);

        const ended = await liveCall({}, 'completed');
        expect(await refusal(`${base}/${ended.uuid}?token=${voiceToken(secret, ended.uuid)}`)).to.equal(404);
    });

    it('closes a socket whose first frame is not websocket:connected, or whose audio it cannot play', async () => {

        const call = await liveCall();
        const url = `${base}/${call.uuid}?token=${voiceToken(secret, call.uuid)}`;

        const closedWith = (first: string | Buffer) => new Promise<{ code: number; reason: string }>((resolve) => {

            const socket = new WebSocket(url);
            socket.on('open', () => socket.send(first));
            socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
        });

        expect(await closedWith(Buffer.alloc(640))).to.equal({ code: 1003, reason: 'Audio before websocket:connected' });
        expect(await closedWith('not json')).to.equal({ code: 1003, reason: 'Text frames must be JSON' });
        expect((await closedWith(JSON.stringify({ event: 'websocket:connected', 'content-type': 'audio/l16;rate=44100' }))).code).to.equal(1003);
    });

    it('greets first, then answers a question, keeping both sides of the transcript and the latency', async () => {

        const call = await liveCall();
        const leg = connect(call.uuid);
        const frames: Buffer[] = [];
        leg.on('audio', (frame: Buffer) => frames.push(frame));
        try {
            await answer(leg, call.id, 'who is this', 1);
            await waitFor(async () => (await turns(call.id)).length >= 3, 20_000);

            const [greeting, question, reply] = await turns(call.id);
            expect(greeting).to.include({ speaker: 'agent', text: 'Hello Sam, this is Ava, an AI assistant calling from Acme.', interrupted: false });
            expect(greeting.response_ms).to.be.null();
            expect(question).to.include({ speaker: 'caller', text: 'who is this' });
            expect(reply).to.include({ speaker: 'agent', interrupted: false });
            expect(reply.text).to.contain('AI assistant calling from Acme');
            expect(reply.response_ms as number).to.be.above(0);
            for (const part of ['overhead_ms', 'llm_ms', 'tts_ms', 'endpointing_ms']) {
                expect(reply[part] as number, part).to.be.at.least(0);
            }

            expect(frames.length).to.be.above(50);
            expect(frames.every((frame) => frame.length === 640)).to.be.true();
            expect(deepgram.connections.at(-1)!.query.get('sample_rate')).to.equal('16000');
        }
        finally {
            leg.close();
        }
    });

    it('stops talking when the caller talks over it, and keeps only what was heard', async () => {

        const long = 'We offer three plans. The basic plan is ten dollars a month and covers one user. The team plan is fifty dollars a month for up to ten users. The enterprise plan is priced on request and includes support around the clock.';
        const call = await liveCall({ faq: [{ question: 'How much does it cost?', answer: long }] });
        const leg = connect(call.uuid);
        const cleared = new Promise((resolve) => leg.once('clear', resolve));
        try {
            await answer(leg, call.id, 'how much does it cost', 1);

            // Once the answer is playing, the caller cuts in

            await waitFor(async () => (await turns(call.id)).length >= 2, 20_000);
            await new Promise((resolve) => setTimeout(resolve, 1500));
            leg.say(await speech('wait wait, I have another question about that'));
            await cleared;

            await waitFor(async () => (await turns(call.id)).length >= 3, 20_000);
            const reply = (await turns(call.id))[2];
            expect(reply).to.include({ speaker: 'agent', interrupted: true });
            expect(reply.text.length as number).to.be.below(long.length);
            expect(long.startsWith(reply.text)).to.be.true();
        }
        finally {
            leg.close();
        }
    });

    it('lets a short backchannel pass while it talks', async () => {

        const long = 'Our service books appointments for you. It reminds your customers a day before. It also follows up after the visit to ask how it went.';
        const call = await liveCall({ faq: [{ question: 'What does the service do?', answer: long }] });
        const leg = connect(call.uuid);
        let clears = 0;
        leg.on('clear', () => ++clears);
        try {
            await answer(leg, call.id, 'what does the service do', 1);
            await waitFor(async () => (await turns(call.id)).length >= 2, 20_000);
            await new Promise((resolve) => setTimeout(resolve, 1000));
            leg.say(await speech('uh huh'));
            await waitFor(async () => (await turns(call.id)).length >= 3, 30_000);

            const reply = (await turns(call.id))[2];
            expect(reply).to.include({ speaker: 'agent', text: long, interrupted: false });
            expect(clears).to.equal(0);
        }
        finally {
            leg.close();
        }
    });

    it('hears keypad digits', async () => {

        const call = await liveCall();
        const leg = connect(call.uuid);
        try {
            await waitFor(async () => (await turns(call.id)).length >= 1, 20_000);
            leg.press('5');
            await waitFor(async () => (await turns(call.id)).length >= 3, 20_000);
            const [, digit, reply] = await turns(call.id);
            expect(digit).to.include({ speaker: 'caller', text: '[pressed 5]' });
            expect(reply).to.include({ speaker: 'agent', text: 'Sorry, I did not catch that. Could you say it again?' });
        }
        finally {
            leg.close();
        }
    });

    it('marks the goal achieved and hangs up when the caller agrees', async () => {

        const call = await liveCall({ closing: 'Our team will email you the details. Goodbye.' });
        const leg = connect(call.uuid);
        const closed = new Promise((resolve) => leg.once('close', resolve));
        try {
            await answer(leg, call.id, 'yes I am interested', 1);
            expect(await closed).to.equal(1000);

            const { db } = harness.server.plugins.core;
            expect(await db('calls').where({ id: call.id }).first('goal_achieved')).to.equal({ goal_achieved: true });
            const reply = (await turns(call.id))[2];
            expect(reply).to.include({ speaker: 'agent', text: 'Wonderful. Our team will email you the details. Goodbye.', interrupted: false });
        }
        finally {
            leg.close();
        }
    });

    it('puts the number on the do-not-call list when asked, and says goodbye', async () => {

        const call = await liveCall();
        const leg = connect(call.uuid);
        const closed = new Promise((resolve) => leg.once('close', resolve));
        try {
            await answer(leg, call.id, 'please stop calling me', 1);
            expect(await closed).to.equal(1000);

            const { db } = harness.server.plugins.core;
            expect(await db('dnc_numbers').where({ tenant_id: call.tenantId }).select('phone_number', 'reason')).to.equal([{ phone_number: '+12125550100', reason: 'please stop calling me' }]);
        }
        finally {
            leg.close();
        }
    });

    it('apologises and hangs up when the speech-to-text is lost', async () => {

        const call = await liveCall();
        const leg = connect(call.uuid);
        const closed = new Promise((resolve) => leg.once('close', resolve));
        let frames = 0;
        try {
            await waitFor(async () => (await turns(call.id)).length >= 1, 20_000);
            leg.on('audio', () => ++frames);
            deepgram.connections.at(-1)!.drop();
            expect(await closed).to.equal(1000);
            expect(frames).to.be.above(50);                          // the apology was spoken
        }
        finally {
            leg.close();
        }
    });
});
