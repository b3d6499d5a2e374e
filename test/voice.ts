import Crypto from 'crypto';
import Fs from 'fs';
import Path from 'path';

import Code from '@hapi/code';
import type { Server } from '@hapi/hapi';
import Lab from '@hapi/lab';
import WebSocket from 'ws';

import type { TalkyPlugin } from '../core/plugin';

import { speech as espeakSpeech } from '../plugins/espeak/tts';
import { scriptedLlm } from '../plugins/scripted/llm';
import { VoiceLeg } from '../plugins/simulator/voice';
import { levelDb, Resampler } from '../plugins/voice/audio';
import { Histogram } from '../plugins/voice/pacer';
import { agentCall } from '../plugins/voice/prompt';
import { Sentences } from '../plugins/voice/sentences';
import type { SocketCall } from '../plugins/voice/service';
import type { ChatMessage, Tts } from '../plugins/voice/slots';
import { voiceToken } from '../plugins/voice/token';
import { afterwards, runTool, toolSpecs, type CallActions } from '../plugins/voice/tools';
import { Vad } from '../plugins/voice/vad';
import { startCartesia } from './fakes/cartesia';
import { startDeepgram } from './fakes/deepgram';
import { startOpenai, type Reply } from './fakes/openai';
import { startServer, waitFor, type Harness } from './lib/harness';
import { closedPort } from './lib/proxy';
import { signUp } from './lib/session';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


// Speech the caller says, made by espeak-ng at the call's rate

const speech = (text: string, sampleRate = 16000) => espeakSpeech(text, sampleRate);


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


// A live call of a campaign, as the dialer leaves it once answered

const liveCallOf = async (server: Server, script: Record<string, unknown> = {}, status = 'in_progress', calling: Record<string, unknown> = {}) => {

    const { db } = server.plugins.core;
    const owner = await signUp(server);
    const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Voice test', goal: 'book a demo', script_config: { agent_name: 'Ava', company_name: 'Acme', ...script }, calling_config: calling } });
    const campaignId = (created.result as { id: string }).id;
    const [lead] = await db('leads').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, phone_number: '+12125550100', first_name: 'Sam', status: 'calling' }).returning('id');
    const [job] = await db('dialer_jobs').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: lead.id, status: 'in_call', attempt: 1 }).returning('id');
    const id = Crypto.randomUUID();
    const uuid = `vonage-${id}`;
    await db('calls').insert({ id, tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: lead.id, job_id: job.id, attempt: 1, provider: 'simulator', provider_call_id: uuid, to_number: '+12125550100', status, answered_at: new Date() });
    return { id, uuid, tenantId: owner.tenantId, campaignId, headers: owner.headers };
};


// Another campaign of the tenant, waiting to call the same number (and one other)

const waitingJobs = async (server: Server, tenantId: string) => {

    const { db } = server.plugins.core;
    const [campaign] = await db('campaigns').insert({ tenant_id: tenantId, name: 'Another', status: 'paused', max_concurrent_calls: 1 }).returning('id');
    const leads = await db('leads').insert([
        { tenant_id: tenantId, campaign_id: campaign.id, phone_number: '+12125550100', status: 'pending' },
        { tenant_id: tenantId, campaign_id: campaign.id, phone_number: '+12125550111', status: 'pending' }
    ]).returning(['id', 'phone_number']);
    const jobs = await db('dialer_jobs').insert(leads.map((lead: { id: string }, i: number) => ({ tenant_id: tenantId, campaign_id: campaign.id, lead_id: lead.id, status: i ? 'pending' : 'retry_scheduled' }))).returning(['id', 'lead_id']);
    const state = async () => await db('dialer_jobs as j').join('leads as l', 'l.id', 'j.lead_id').whereIn('j.id', jobs.map((job: { id: string }) => job.id)).orderBy('l.phone_number').select('l.phone_number', 'j.status', 'j.last_decision', { lead_status: 'l.status' });
    return { state };
};


// A TTS slow to start: its first audio comes only after a wait, as an overloaded engine's would

const slowTts = (waitMs: number): Tts => ({
    turn: (options) => {

        const texts: string[] = [];
        let ended = false;
        let wake: (() => void) | null = null;
        const more = () => new Promise<void>((resolve) => (wake = resolve));
        return {
            say: (text) => {

                texts.push(text);
                wake?.();
            },
            end: () => {

                ended = true;
                wake?.();
            },
            audio: (async function* () {

                await new Promise((resolve) => setTimeout(resolve, waitMs));
                for (;;) {
                    if (options.signal.aborted) {
                        return;
                    }

                    if (texts.shift() !== undefined) {
                        yield Buffer.alloc(options.sampleRate / 1000 * 2 * 500);       // half a second of silence
                    }
                    else if (ended) {
                        return;
                    }
                    else {
                        await more();
                    }
                }
            })()
        };
    }
});

const slowEngines: TalkyPlugin = {
    name: 'slow-engines',
    dependencies: ['core'],
    register(server) {

        server.plugins.core.providers.register('tts', 'slow', () => slowTts(2500));
    }
};


describe('voice', () => {

    let harness: Harness;
    let deepgram: Awaited<ReturnType<typeof startDeepgram>>;
    let base: string;
    let secret: string;

    const liveCall = (script: Record<string, unknown> = {}, status = 'in_progress', calling: Record<string, unknown> = {}) => liveCallOf(harness.server, script, status, calling);

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

    const connect = (uuid: string, token = voiceToken(secret, uuid, Date.now()), contentType = 'audio/l16;rate=16000') => {

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
        expect(await refusal(`${base}/${call.uuid}?token=${voiceToken('another secret entirely', call.uuid, Date.now())}`)).to.equal(401);
        expect(await refusal(`${base}/unknown-call?token=${voiceToken(secret, 'unknown-call', Date.now())}`)).to.equal(404);

        // The answer's time is signed with the call: changed, or missing, it is refused

        const [, signature] = voiceToken(secret, call.uuid, 1_700_000_000_000).split('.');
        expect(await refusal(`${base}/${call.uuid}?token=1700000009999.${signature}`)).to.equal(401);
        expect(await refusal(`${base}/${call.uuid}?token=${signature}`)).to.equal(401);
        expect(await refusal(`${base}/${call.uuid}?token=1700000000000.${signature}.x`)).to.equal(401);

        const ended = await liveCall({}, 'completed');
        expect(await refusal(`${base}/${ended.uuid}?token=${voiceToken(secret, ended.uuid, Date.now())}`)).to.equal(404);
    });

    it('closes a socket whose first frame is not websocket:connected, or whose audio it cannot play', async () => {

        const call = await liveCall();
        const url = `${base}/${call.uuid}?token=${voiceToken(secret, call.uuid, Date.now())}`;

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
            expect(greeting).to.include({ speaker: 'agent', text: 'Hello Sam, this is Ava, an AI assistant calling from Acme. To stop these calls, say stop or press 9.', interrupted: false });
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
            await waitFor(async () => (await turns(call.id)).length >= 3);                 // the goodbye is written as the call closes
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
            expect(await db('dnc_numbers').where({ tenant_id: call.tenantId }).select('phone_number', 'reason', 'call_id')).to.equal([{ phone_number: '+12125550100', reason: 'please stop calling me', call_id: call.id }]);
        }
        finally {
            leg.close();
        }
    });

    it('opens with who calls, that it is an AI, how to stop the calls and, when recorded, that it is', async () => {

        const { db } = harness.server.plugins.core;
        const recorded = await liveCall({}, 'in_progress', { record: true });

        // A campaign written before the greeting was checked, whose greeting says none of it

        const older = await liveCall();
        await db('campaigns').where({ id: older.campaignId }).update({ script_config: JSON.stringify({ greeting: 'Hi {first_name}, got a minute?' }) });
        const { business_name: business } = await db('tenants').where({ id: older.tenantId }).first('business_name');

        // Answered 3 s before the provider opened its socket: late however quick the agent

        const legs = [connect(recorded.uuid), connect(older.uuid, voiceToken(secret, older.uuid, Date.now() - 3000))];
        try {
            await waitFor(async () => (await turns(recorded.id)).length >= 1 && (await turns(older.id)).length >= 1, 20_000);
            expect((await turns(recorded.id))[0].text).to.equal('Hello Sam, this is Ava, an AI assistant calling from Acme. To stop these calls, say stop or press 9. This call is recorded.');
            expect((await turns(older.id))[0].text).to.equal(`Hi Sam, got a minute? This is an AI assistant calling on behalf of ${business}. To stop these calls, say stop or press 9.`);

            // Its first words came at once: not abandoned

            const measured = await db('calls').where({ id: recorded.id }).first('abandoned', 'first_audio_ms');
            expect(measured.abandoned).to.be.false();
            expect(measured.first_audio_ms as number).to.be.between(-1, 2000);

            const late = await db('calls').where({ id: older.id }).first('abandoned', 'first_audio_ms');
            expect(late.abandoned).to.be.true();
            expect(late.first_audio_ms as number).to.be.between(2999, 20_000);
        }
        finally {
            legs.forEach((leg) => leg.close());
        }
    });

    it('stops the calls when the caller presses the opt-out key: on the do-not-call list with its call, waiting jobs cancelled in every campaign', async () => {

        const { db } = harness.server.plugins.core;
        const call = await liveCall();
        const other = await waitingJobs(harness.server, call.tenantId);
        const leg = connect(call.uuid);
        const closed = new Promise((resolve) => leg.once('close', resolve));
        try {
            await waitFor(async () => (await turns(call.id)).length >= 1, 20_000);
            leg.press('9');
            expect(await closed).to.equal(1000);

            expect(await db('dnc_numbers').where({ tenant_id: call.tenantId }).select('phone_number', 'reason', 'call_id')).to.equal([{ phone_number: '+12125550100', reason: 'pressed 9 to stop the calls', call_id: call.id }]);
            expect(await other.state()).to.equal([
                { phone_number: '+12125550100', status: 'cancelled', last_decision: 'cancelled', lead_status: 'dnc' },
                { phone_number: '+12125550111', status: 'pending', last_decision: null, lead_status: 'pending' }
            ]);

            await waitFor(async () => (await turns(call.id)).length >= 3);
            const [, pressed, goodbye] = await turns(call.id);
            expect(pressed).to.include({ speaker: 'caller', text: '[pressed 9]' });
            expect(goodbye).to.include({ speaker: 'agent', text: 'Understood. You will not be called again. Goodbye.', interrupted: false });

            // The call's own lead is dnc, and stays so as the call ends

            const ended = new Date();
            await harness.server.plugins.dialer.handleEvent({ callId: call.id, attempt: 1, providerCallId: call.uuid, status: 'completed', timestamp: ended, endedAt: ended, durationSeconds: 8, raw: { status: 'completed' } });
            expect(await db('calls as c').join('leads as l', 'l.id', 'c.lead_id').where('c.id', call.id).first('c.status', 'l.status as lead_status')).to.equal({ status: 'completed', lead_status: 'dnc' });
        }
        finally {
            leg.close();
        }
    });

    it('stops the calls when the caller says stop', async () => {

        const { db } = harness.server.plugins.core;
        const call = await liveCall();
        const other = await waitingJobs(harness.server, call.tenantId);
        const leg = connect(call.uuid);
        const closed = new Promise((resolve) => leg.once('close', resolve));
        try {
            await answer(leg, call.id, 'please stop', 1);
            expect(await closed).to.equal(1000);

            expect(await db('dnc_numbers').where({ tenant_id: call.tenantId }).select('phone_number', 'reason', 'call_id')).to.equal([{ phone_number: '+12125550100', reason: 'please stop', call_id: call.id }]);
            expect((await other.state()).map((job) => job.status)).to.equal(['cancelled', 'pending']);
            await waitFor(async () => (await turns(call.id)).length >= 3);
            expect((await turns(call.id))[2]).to.include({ speaker: 'agent', text: 'Understood. You will not be called again. Goodbye.' });
        }
        finally {
            leg.close();
        }
    });

    it('counts a call whose first words came later than 2 s as abandoned, and pauses a campaign over its ceiling', async () => {

        const slow = await startServer({ sttProvider: 'deepgram', deepgramUrl: deepgram.url, deepgramApiKey: deepgram.apiKey, llmProvider: 'scripted', ttsProvider: 'slow' }, { listen: true, plugins: [slowEngines] });
        try {
            const { db } = slow.server.plugins.core;
            const call = await liveCallOf(slow.server);
            await db('campaigns').where({ id: call.campaignId }).update({ status: 'running' });

            // Twenty answered calls already: one abandoned ten days ago, and a machine's slow answer that does not count

            const { lead_id: leadId, job_id: jobId } = await db('calls').where({ id: call.id }).first('lead_id', 'job_id');
            const hourAgo = new Date(Date.now() - 3600_000);
            const earlier = new Date(Date.now() - 10 * 24 * 3600_000);
            const row = (answeredAt: Date, abandoned: boolean, machine = false) => ({ id: Crypto.randomUUID(), tenant_id: call.tenantId, campaign_id: call.campaignId, lead_id: leadId, job_id: jobId, attempt: 1, provider: 'simulator', to_number: '+12125550100', status: 'completed', outcome: machine ? 'voicemail' : 'goal_not_achieved', machine, answered_at: answeredAt, first_audio_ms: abandoned ? 2600 : 400, abandoned });
            await db('calls').insert([row(earlier, true), ...Array.from({ length: 19 }, () => row(hourAgo, false)), row(hourAgo, true, true)]);

            const leg = new VoiceLeg({ uri: `ws://127.0.0.1:${slow.server.info.port}/api/v1/ws/voice/${call.uuid}?token=${voiceToken(slow.config.jwtSecret!, call.uuid, Date.now())}`, contentType: 'audio/l16;rate=16000', headers: { call_uuid: call.uuid } }, 1);
            try {
                await waitFor(async () => (await db('campaigns').where({ id: call.campaignId }).first('status')).status === 'paused', 10_000);
                const measured = await db('calls').where({ id: call.id }).first('abandoned', 'first_audio_ms');
                expect(measured.abandoned).to.be.true();
                expect(measured.first_audio_ms as number).to.be.above(2000);

                const campaign = await slow.server.inject({ method: 'GET', url: `/api/v1/campaigns/${call.campaignId}`, headers: call.headers });
                expect((campaign.result as { paused_reason: string }).paused_reason).to.equal('Abandoned calls reached 9.52% of live-answered calls over 30 days (2 of 21; the ceiling is 3%): the agent\'s first words came later than 2 s after the answer');

                const stats = await slow.server.inject({ method: 'GET', url: `/api/v1/campaigns/${call.campaignId}/stats`, headers: call.headers });
                expect(stats.statusCode, stats.payload).to.equal(200);
                expect(stats.result).to.include({ abandonment_rate_30d: 9.52, abandonment_rate_24h: 5 });
            }
            finally {
                leg.close();
            }
        }
        finally {
            await slow.cleanup();
        }
    });

    it('counts an answered call that ended without a word from the agent as abandoned, when it lasted past the 2 s', async () => {

        const { server } = harness;
        const { db } = server.plugins.core;
        const ended = async (call: { id: string; uuid: string }, seconds: number) => {

            const { answered_at: answeredAt } = await db('calls').where({ id: call.id }).first('answered_at');
            const endedAt = new Date(answeredAt.getTime() + seconds * 1000);
            await server.plugins.dialer.handleEvent({ callId: call.id, attempt: 1, providerCallId: call.uuid, status: 'completed', timestamp: endedAt, endedAt, durationSeconds: seconds, raw: { status: 'completed' } });
            return await db('calls').where({ id: call.id }).first('status', 'abandoned');
        };

        // Its socket never opened: with nineteen heard calls before it, 1 of 20 is over the 3% ceiling

        const unheard = await liveCall();
        await db('campaigns').where({ id: unheard.campaignId }).update({ status: 'running' });
        const { lead_id: leadId, job_id: jobId } = await db('calls').where({ id: unheard.id }).first('lead_id', 'job_id');
        const heardBefore = { tenant_id: unheard.tenantId, campaign_id: unheard.campaignId, lead_id: leadId, job_id: jobId, attempt: 1, provider: 'simulator', to_number: '+12125550100', status: 'completed', outcome: 'goal_not_achieved', answered_at: new Date(Date.now() - 3600_000), first_audio_ms: 300, abandoned: false };
        await db('calls').insert(Array.from({ length: 19 }, () => ({ id: Crypto.randomUUID(), ...heardBefore })));
        const [waiting] = await db('leads').insert({ tenant_id: unheard.tenantId, campaign_id: unheard.campaignId, phone_number: '+12125550199', status: 'pending' }).returning('id');
        await db('dialer_jobs').insert({ tenant_id: unheard.tenantId, campaign_id: unheard.campaignId, lead_id: waiting.id, status: 'pending' });     // the campaign goes on

        expect(await ended(unheard, 5)).to.equal({ status: 'completed', abandoned: true });
        const campaign = await db('campaigns').where({ id: unheard.campaignId }).first('status', 'paused_reason');
        expect(campaign.status).to.equal('paused');
        expect(campaign.paused_reason as string).to.startWith('Abandoned calls reached 5% of live-answered calls over 30 days (1 of 20');

        // A ceiling of 100% is never reached

        await db('campaigns').where({ id: unheard.campaignId }).update({ status: 'running', paused_reason: null, calling_config: JSON.stringify({ max_abandonment_rate: 100 }) });
        const tolerated = { id: Crypto.randomUUID(), uuid: `vonage-${Crypto.randomUUID()}` };
        await db('calls').insert({ ...heardBefore, id: tolerated.id, provider_call_id: tolerated.uuid, status: 'in_progress', outcome: null, answered_at: new Date(), first_audio_ms: null, abandoned: null });
        expect(await ended(tolerated, 5)).to.equal({ status: 'completed', abandoned: true });
        expect(await db('campaigns').where({ id: unheard.campaignId }).first('status')).to.equal({ status: 'running' });

        // Hung up on within the 2 s, or heard in time: not abandoned

        expect(await ended(await liveCall(), 1.5)).to.equal({ status: 'completed', abandoned: null });
        const heard = await liveCall();
        await db('calls').where({ id: heard.id }).update({ first_audio_ms: 300, abandoned: false });
        expect(await ended(heard, 30)).to.equal({ status: 'completed', abandoned: false });
    });

    it('leaves the campaign\'s voicemail after the beep, or hangs up on a machine when it has none', async () => {

        const { server } = harness;
        const machine = (call: { id: string; uuid: string }, detail?: string) => server.plugins.dialer.handleEvent({ callId: call.id, attempt: 1, providerCallId: call.uuid, status: 'machine', detail, timestamp: new Date(), raw: { status: 'machine' } });

        const call = await liveCall({ voicemail_message: 'Hi {first_name}, this is Ava from Acme. Please call us back.' });
        const leg = connect(call.uuid);
        const closed = new Promise((resolve) => leg.once('close', resolve));
        try {
            await waitFor(async () => (await turns(call.id)).length >= 1, 20_000);
            await machine(call);
            await machine(call, 'beep_start');
            expect(await closed).to.equal(1000);
            const left = 'This is an AI assistant calling on behalf of Acme. Hi Sam, this is Ava from Acme. Please call us back.';       // the disclosure first
            await waitFor(async () => (await turns(call.id)).some((turn: { text: string }) => turn.text === left));     // the last turn is written as the call closes
            const said = (await turns(call.id)).map((turn: { text: string }) => turn.text);
            expect(said.at(-1)).to.equal(left);
            expect(await server.plugins.core.db('calls').where({ id: call.id }).first('machine')).to.equal({ machine: true });
        }
        finally {
            leg.close();
        }

        const silent = await liveCall();
        const other = connect(silent.uuid);
        const hungUp = new Promise((resolve) => other.once('close', resolve));
        try {
            await other.opened;
            await waitFor(() => deepgram.connections.length > 0 && harness.server.plugins.voice.metrics.activeCalls > 0, 10_000);
            await new Promise((resolve) => setTimeout(resolve, 300));
            await machine(silent);
            expect(await hungUp).to.equal(1000);
        }
        finally {
            other.close();
        }
    });

    it('records both sides, the caller left and the agent right, when the campaign asks', async () => {

        const call = await liveCall({}, 'in_progress', { record: true });
        const leg = connect(call.uuid);
        const { db } = harness.server.plugins.core;
        try {
            await waitFor(async () => (await turns(call.id)).length >= 1, 20_000);
            leg.say(Buffer.concat([silence(500), await speech('hello'), silence(500)]));
            await new Promise((resolve) => setTimeout(resolve, 2500));
        }
        finally {
            leg.close();
        }

        await waitFor(async () => Boolean(await db('recordings').where({ call_id: call.id }).first()), 10_000);
        const recording = await db('recordings').where({ call_id: call.id }).first();
        expect(recording).to.include({ provider_recording_id: `talky:${call.id}`, storage_key: `recordings/${call.tenantId}/${call.id}/conversation.wav` });

        const wav = Fs.readFileSync(Path.join(harness.config.storageDir, recording.storage_key));
        expect(wav.length).to.equal(recording.size_bytes);
        expect(wav.toString('latin1', 0, 4)).to.equal('RIFF');
        expect([wav.readUInt16LE(22), wav.readUInt32LE(24), wav.readUInt32LE(40)]).to.equal([2, 16000, wav.length - 44]);

        // The caller spoke in the middle and the agent at the start: each on its own channel

        const energy = (channel: number, fromMs: number, toMs: number) => {

            let sum = 0;
            for (let i = 44 + fromMs * 64 + channel * 2; i < 44 + toMs * 64 && i < wav.length; i += 4) {
                sum += Math.abs(wav.readInt16LE(i));
            }

            return sum;
        };

        const seconds = (wav.length - 44) / 64000;
        expect(seconds).to.be.above(3);
        expect(energy(1, 0, 1500)).to.be.above(energy(0, 0, 1500) * 10);
        expect(energy(0, 0, seconds * 1000)).to.be.above(0);
    });

    describe('with a model that fails', () => {

        let openai: Awaited<ReturnType<typeof startOpenai>>;
        let failing: Harness;

        before(async () => {

            openai = await startOpenai();
            failing = await startServer({
                sttProvider: 'deepgram',
                deepgramUrl: deepgram.url,
                deepgramApiKey: deepgram.apiKey,
                llmProvider: 'openai',
                openaiBaseUrl: openai.baseUrl,
                openaiApiKey: 'sk-test',
                llmTimeoutSeconds: 1,
                ttsProvider: 'espeak'
            }, { listen: true });
        });

        after(async () => {

            await failing.cleanup();
            await openai.close();
        });

        const degrades = (what: string, reply: Reply) => {

            it(`apologises and hangs up when the LLM answers ${what}`, async () => {

                openai.reply(reply);
                const call = await liveCallOf(failing.server);
                const leg = new VoiceLeg({ uri: `ws://127.0.0.1:${failing.server.info.port}/api/v1/ws/voice/${call.uuid}?token=${voiceToken(failing.config.jwtSecret!, call.uuid, Date.now())}`, contentType: 'audio/l16;rate=16000' }, 1);
                const closed = new Promise((resolve) => leg.once('close', resolve));
                const turnsOf = () => failing.server.plugins.core.db('call_turns').where({ call_id: call.id }).orderBy('seq');
                let frames = 0;
                try {
                    await waitFor(async () => (await turnsOf()).length >= 1, 20_000);
                    const connection = deepgram.connections.at(-1)!;
                    leg.say(Buffer.concat([await speech('who is this'), silence(700)]));
                    await waitFor(() => connection.controls.includes('Finalize'), 20_000);
                    leg.on('audio', () => ++frames);
                    connection.send(results('who is this'));

                    expect(await closed).to.equal(1000);
                    expect(frames).to.be.above(100);                     // the apology, some seconds of it
                    expect(openai.requests.at(-1)!.body.messages.at(-1)).to.equal({ role: 'user', content: 'who is this' });
                }
                finally {
                    leg.close();
                }
            });
        };

        degrades('an error', { status: 500 });
        degrades('no first token in time', { text: ['Well'], delayMs: 3000 });
    });

    it('ends the call cleanly when the speech service drops mid-sentence', async () => {

        const cartesia = await startCartesia();
        const speaking = await startServer({ sttProvider: 'deepgram', deepgramUrl: deepgram.url, deepgramApiKey: deepgram.apiKey, llmProvider: 'scripted', ttsProvider: 'cartesia', cartesiaUrl: cartesia.url, cartesiaApiKey: cartesia.apiKey, cartesiaVoiceId: 'voice-default' }, { listen: true });
        try {
            const call = await liveCallOf(speaking.server);
            cartesia.script.drop = true;                            // the greeting's first piece, then the connection is cut
            const leg = new VoiceLeg({ uri: `ws://127.0.0.1:${speaking.server.info.port}/api/v1/ws/voice/${call.uuid}?token=${voiceToken(speaking.config.jwtSecret!, call.uuid, Date.now())}`, contentType: 'audio/l16;rate=16000' }, 1);
            let frames = 0;
            leg.on('audio', () => ++frames);
            expect(await new Promise((resolve) => leg.once('close', resolve))).to.equal(1000);

            // The greeting's piece was heard and kept as cut off; the apology came on a new connection

            const [greeting] = await speaking.server.plugins.core.db('call_turns').where({ call_id: call.id }).orderBy('seq');
            expect(greeting).to.include({ speaker: 'agent', interrupted: true });
            expect(frames).to.be.above(0);
            expect(cartesia.peers.length).to.equal(2);
        }
        finally {
            await speaking.cleanup();
            await cartesia.close();
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


describe('voice offline', () => {

    // No keys at all: pocketsphinx listens, the scripted agent answers, espeak-ng speaks

    it('holds a conversation with the offline engines', async () => {

        const harness = await startServer({}, { listen: true });
        const { server, config } = harness;
        const call = await liveCallOf(server);
        const leg = new VoiceLeg({ uri: `ws://127.0.0.1:${server.info.port}/api/v1/ws/voice/${call.uuid}?token=${voiceToken(config.jwtSecret!, call.uuid, Date.now())}`, contentType: 'audio/l16;rate=16000' }, 1);
        const turns = () => server.plugins.core.db('call_turns').where({ call_id: call.id }).orderBy('seq');
        try {
            expect(config).to.include({ sttProvider: 'pocketsphinx', llmProvider: 'scripted', ttsProvider: 'espeak' });
            await waitFor(async () => (await turns()).length >= 1, 20_000);
            leg.say(Buffer.concat([await speech('who is this'), silence(1000)]));
            await waitFor(async () => (await turns()).length >= 3, 30_000);

            const [, question, reply] = await turns();
            expect(question).to.include({ speaker: 'caller', text: 'who is this' });
            expect(reply.text).to.contain('AI assistant calling from Acme');
            expect(reply.stt_ms as number).to.be.above(0);
        }
        finally {
            leg.close();
            await harness.cleanup();
        }
    });
});


describe('voice rehearsal', () => {

    // The quick start's local run: the dialer calls through the simulator, whose person talks to
    // the agent over the voice socket, spoken by espeak-ng and heard by pocketsphinx

    const rehearse = async (persona: string, script: Record<string, unknown>, check: (server: Server, call: Record<string, unknown>, said: string[]) => void) => {

        const port = await closedPort();
        const harness = await startServer({
            port,
            publicUrl: `http://127.0.0.1:${port}`,
            telephonyMaxCps: 100,
            simulatorTimeScale: 1,
            simulatorOutcomes: 'answered:1',
            simulatorVoice: true,
            simulatorPersona: persona,
            dialerReconcileSeconds: 3600,
            logLevel: process.env.TEST_LOG ?? 'silent'
        }, { listen: true });

        try {
            const { server } = harness;
            const { db } = server.plugins.core;
            const owner = await signUp(server);
            const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Rehearsal', max_retries: 0, script_config: { agent_name: 'Ava', company_name: 'Acme', ...script } } });
            const id = (created.result as { id: string }).id;
            await server.inject({ method: 'POST', url: '/api/v1/contacts/bulk', headers: owner.headers, payload: { campaign_id: id, contacts: [{ phone_number: '+12125550177', first_name: 'Sam' }] } });
            expect((await server.inject({ method: 'POST', url: `/api/v1/campaigns/${id}/start`, headers: owner.headers })).statusCode).to.equal(200);

            await waitFor(async () => (await db('campaigns').where({ id }).first('status')).status === 'completed', 50_000);
            const call = await db('calls').where({ campaign_id: id }).first();
            const said = (await db('call_turns').where({ call_id: call.id }).orderBy('seq')).map((turn: { speaker: string; text: string }) => `${turn.speaker}: ${turn.text}`);
            check(server, call, said);
        }
        finally {
            await harness.cleanup();
        }
    };

    it('runs a campaign whose calls are real conversations, ending as the person decides', { timeout: 60_000 }, async () => {

        await rehearse('who is this|yes I am interested', {}, (server, call, said) => {

            expect(call, said.join('\n')).to.include({ status: 'completed', outcome: 'goal_achieved', goal_achieved: true });
            expect(said).to.equal([
                'agent: Hello Sam, this is Ava, an AI assistant calling from Acme. To stop these calls, say stop or press 9.',
                'caller: who is this',
                'agent: I am an AI assistant calling from Acme.',
                'caller: yes i am interested',
                'agent: Wonderful. Thank you for your time. Goodbye.'
            ]);
        });
    });

    it('hands the call to the campaign\'s human when the person asks for one', { timeout: 60_000 }, async () => {

        await rehearse('can I speak to a real person', { transfer_number: '+12125550999' }, (server, call, said) => {

            expect(said).to.equal([
                'agent: Hello Sam, this is Ava, an AI assistant calling from Acme. To stop these calls, say stop or press 9.',
                'caller: can i speak to a real person',
                'agent: Of course, let me connect you with a colleague now.'
            ]);

            const simulated = server.plugins.simulator.instance().calls.get(call.provider_call_id as string)!;
            expect(simulated.transferredTo).to.equal({ type: 'ncco', ncco: [{ action: 'connect', from: '12025550100', endpoint: [{ type: 'phone', number: '12125550999' }] }] });
            expect(call).to.include({ status: 'completed' });
        });
    });
});


describe('voice parts', () => {

    it('adds to the opening only the disclosures its greeting lacks, with the campaign\'s opt-out key', () => {

        const call = (script: Record<string, unknown>, calling: Record<string, unknown> = {}): SocketCall => ({
            id: 'c', tenant_id: 't', campaign_id: 'm', provider_call_id: 'p', to_number: '+12125550100', campaign_name: 'Test', system_prompt: null, goal: null, voice_id: null,
            script_config: script, calling_config: calling, first_name: 'Sam', last_name: null, tenant_name: 'Initech'
        });

        const complete = 'Hi, this is Ava, an automated assistant from {company_name}. Say stop or press 9 to stop the calls. This call is being recorded.';
        expect(agentCall(call({ greeting: complete }, { record: true })).greeting).to.equal('Hi, this is Ava, an automated assistant from Initech. Say stop or press 9 to stop the calls. This call is being recorded.');
        expect(agentCall(call({ company_name: 'Acme', greeting: 'Hi {first_name}, Ava of Acme, a virtual agent.' }, { opt_out_digit: '#' }))).to.include({
            greeting: 'Hi Sam, Ava of Acme, a virtual agent. To stop these calls, say stop or press #.',
            optOutDigit: '#'
        });
        expect(agentCall(call({ greeting: 'Hello!' }, { record: true })).greeting).to.equal('Hello! This is an AI assistant calling on behalf of Initech. To stop these calls, say stop or press 9. This call is recorded.');
    });

    it('cuts a reply into sentences as its tokens come, and long runs at a clause', () => {

        const sentences = new Sentences();
        expect(sentences.push('Hello there')).to.equal([]);
        expect(sentences.push('. How are')).to.equal(['Hello there.']);
        expect(sentences.push(' you? I am fine! And')).to.equal(['How are you?', 'I am fine!']);
        expect(sentences.flush()).to.equal('And');
        expect(sentences.flush()).to.be.null();

        const long = `${'word '.repeat(35)}and then, ${'more '.repeat(5)}`;
        expect(sentences.push(long)).to.equal([`${'word '.repeat(35)}and then,`]);
        expect(sentences.flush()).to.equal('more more more more more');
    });

    it('resamples in pieces as it would in one', () => {

        const input = Buffer.alloc(22050 * 2);
        for (let i = 0; i < 22050; ++i) {
            input.writeInt16LE(Math.round(10000 * Math.sin(2 * Math.PI * 440 * i / 22050)), i * 2);
        }

        const whole = new Resampler(22050, 16000).push(input);
        const pieces = new Resampler(22050, 16000);
        const parts: Buffer[] = [];
        for (let i = 0; i < input.length; i += 333) {                  // odd sizes: samples split across pieces
            parts.push(pieces.push(input.subarray(i, i + 333)));
        }

        const joined = Buffer.concat(parts);
        expect(joined.length).to.equal(whole.length);
        expect(whole.length).to.equal(16000 * 2);
        for (let i = 0; i < whole.length; i += 2) {
            expect(Math.abs(whole.readInt16LE(i) - joined.readInt16LE(i))).to.be.at.most(1);
        }

        const up = new Resampler(8000, 16000).push(Buffer.from(new Int16Array([100, 300, 500]).buffer));
        expect([...new Int16Array(up.buffer, up.byteOffset, up.length / 2)]).to.equal([100, 200, 300, 400]);
        expect(new Resampler(16000, 16000).push(Buffer.from([1, 2, 3]))).to.equal(Buffer.from([1, 2]));
    });

    it('measures loudness in dBFS, wherever the frame sits in memory', () => {

        const frame = Buffer.alloc(640);
        for (let i = 0; i < 320; ++i) {
            frame.writeInt16LE(i % 2 ? -16384 : 16384, i * 2);              // a square wave at half of full scale
        }

        const odd = Buffer.alloc(641).subarray(1);
        frame.copy(odd);
        expect(odd.byteOffset % 2).to.equal(1);
        expect(levelDb(frame)).to.be.about(-6.02, 0.01);
        expect(levelDb(odd)).to.equal(levelDb(frame));
        expect(levelDb(Buffer.alloc(640))).to.equal(-Infinity);
        expect(levelDb(Buffer.alloc(1))).to.equal(-Infinity);
    });

    it('hears speech start and stop, not counting the silence that ends it', async () => {

        for (const rate of [8000, 16000, 24000]) {
            const vad = await Vad.create(rate, { mode: 3, startMs: 200, stopMs: 500, minVolumeDb: -50 });
            const audio = Buffer.concat([silence(500, rate), await speech('hello, I would like to know more', rate), silence(1000, rate)]);
            const frame = rate / 50 * 2;
            const events = [];
            let longest = 0;
            for (let i = 0; i + frame <= audio.length; i += frame) {
                const event = vad.push(audio.subarray(i, i + frame));
                longest = Math.max(longest, vad.speechMs());
                if (event) {
                    events.push(event);
                }
            }

            vad.close();
            expect(events.map((event) => event.type), String(rate)).to.equal(['start', 'stop']);
            expect(events[0]!.atMs).to.be.between(400, 700);
            expect(longest).to.equal(events[1]!.atMs - events[0]!.atMs);
            expect(vad.push(Buffer.alloc(frame))).to.be.null();        // closed
        }

        const quiet = await Vad.create(16000, { mode: 3, startMs: 200, stopMs: 500, minVolumeDb: -20 });
        const soft = await speech('too soft to count');
        const events = [];
        for (let i = 0; i + 640 <= soft.length; i += 640) {
            const frame = Buffer.from(soft.subarray(i, i + 640));
            for (let j = 0; j < frame.length; j += 2) {
                frame.writeInt16LE(Math.round(frame.readInt16LE(j) / 20), j);
            }

            events.push(quiet.push(frame));
        }

        expect(events.filter(Boolean)).to.equal([]);
    });

    it('walks the script in the offline agent, calling the tools a model would', async () => {

        const llm = scriptedLlm();
        const tools = toolSpecs({ canTransfer: false });
        const context = { goal: 'book a demo', script: { closing: 'Bye now.', company_name: 'Acme', faq: [{ question: 'What are your opening hours?', answer: 'We are open nine to five.' }] } };
        const reply = async (said: string, history: ChatMessage[] = [], options = { tools }) => {

            const chunks = [];
            for await (const chunk of llm.stream({ messages: [{ role: 'system', content: '' }, ...history, { role: 'user', content: said }], tools: options.tools, signal: new AbortController().signal, context })) {
                chunks.push(chunk);
            }

            return {
                text: chunks.flatMap((chunk) => (chunk.type === 'text' ? [chunk.text] : [])).join(''),
                tools: chunks.flatMap((chunk) => (chunk.type === 'tool' ? [chunk.call.name] : []))
            };
        };

        expect(await reply('yes I am interested')).to.equal({ text: 'Wonderful. Bye now.', tools: ['mark_goal_achieved', 'end_call'] });
        expect(await reply('no thank you')).to.equal({ text: 'I understand. Bye now.', tools: ['end_call'] });
        expect((await reply('please stop calling me')).tools).to.equal(['add_to_do_not_call', 'end_call']);
        expect((await reply('can I call you back later, I am busy right now')).tools).to.equal(['schedule_callback', 'end_call']);
        expect(await reply('what are your opening hours')).to.equal({ text: 'We are open nine to five.', tools: [] });
        expect((await reply('who is this')).text).to.equal('I am an AI assistant calling from Acme. I am calling about book a demo.');
        expect(await reply('can I speak to a real person')).to.equal({ text: 'I am sorry, no one is available right now. We will call you back. Goodbye.', tools: ['end_call'] });
        expect(await reply('can I speak to a real person', [], { tools: toolSpecs({ canTransfer: true }) })).to.equal({ text: 'Of course, let me connect you with a colleague now.', tools: ['transfer_to_human'] });

        const lost = { role: 'assistant' as const, content: 'Sorry, I did not catch that. Could you say it again?' };
        expect((await reply('blah')).text).to.equal(lost.content);
        expect(await reply('blah', [lost, { role: 'user', content: 'blah' }, lost])).to.equal({ text: 'I am sorry, the line seems bad. Bye now.', tools: ['end_call'] });

        // After its tools ran, it has nothing more to say

        const more = [];
        for await (const chunk of llm.stream({ messages: [{ role: 'user', content: 'yes' }, { role: 'assistant', content: 'Wonderful.' }, { role: 'tool', toolCallId: 'call_1', content: 'ok' }], tools, signal: new AbortController().signal, context })) {
            more.push(chunk);
        }

        expect(more).to.equal([]);
    });

    it('runs the tools, refusing a callback that is not in the future', async () => {

        const done: string[] = [];
        const actions: CallActions = {
            hangUp: () => Promise.resolve(void done.push('hang up')),
            markGoalAchieved: () => Promise.resolve(void done.push('goal')),
            scheduleCallback: (at) => Promise.resolve(void done.push(`callback ${at.toISOString()}`)),
            addToDoNotCall: (reason) => Promise.resolve(void done.push(`dnc ${reason}`)),
            transfer: () => Promise.resolve(void done.push('transfer')),
            canTransfer: false
        };

        const now = new Date('2026-12-04T12:00:00Z');
        const run = (name: string, args: Record<string, unknown> = {}) => runTool(actions, { id: 'c', name, arguments: args }, now);
        expect(await run('schedule_callback', { at: 'tomorrow' })).to.contain('Not scheduled');
        expect(await run('schedule_callback', { at: '2026-12-04T11:00:00Z' })).to.contain('Not scheduled');
        expect(await run('schedule_callback', { at: '2026-12-05T09:30:00-05:00' })).to.equal('Scheduled a call back at 2026-12-05T14:30:00.000Z.');
        expect(await run('add_to_do_not_call', {})).to.contain('will not be called again');
        expect(await run('transfer_to_human')).to.contain('offer a call back');
        expect(await run('mark_goal_achieved')).to.equal('Recorded: goal achieved.');
        expect(await run('end_call')).to.contain('will end');
        expect(await run('launch_rocket')).to.equal('There is no tool named launch_rocket.');
        expect(done).to.equal(['callback 2026-12-05T14:30:00.000Z', 'dnc asked not to be called', 'goal']);
        expect(afterwards({ id: 'c', name: 'transfer_to_human', arguments: {} }, actions)).to.be.null();
        expect(afterwards({ id: 'c', name: 'transfer_to_human', arguments: {} }, { ...actions, canTransfer: true })).to.equal('transfer');
        expect(afterwards({ id: 'c', name: 'add_to_do_not_call', arguments: {} }, actions)).to.equal('hang_up');
    });

    it('keeps percentiles of what it measures', () => {

        const histogram = new Histogram();
        expect(histogram.percentile(99)).to.equal(0);
        for (let i = 1; i <= 100; ++i) {
            histogram.add(i / 10);
        }

        expect(histogram.percentile(50)).to.equal(5);
        expect(histogram.percentile(99)).to.equal(9.9);
        expect(histogram.max).to.equal(10);
        histogram.reset();
        expect(histogram.count).to.equal(0);
    });
});
