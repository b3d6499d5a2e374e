// The voice pipeline under load: N concurrent calls in one Talky process at real time, each a
// conversation with the simulator's caller (in a process of its own) through instant fake engines,
// so that what is measured is Talky's own work. Each caller waits for the greeting, asks a
// question, talks over the answer (barge-in), and agrees, which ends the call. Calls begin `cps`
// a second, as a dialer starts them (Vonage allows 3 a second per account unless raised; the
// default here is 20), and all N are live together for most of the run. The callers stand in for
// Vonage's side of the line, which runs on other machines: their process gets a lower CPU
// priority, so that this machine's cores are Talky's. Prints JSON:
// - frame_lateness_ms: outgoing 20 ms frames against their schedule (jitter);
// - overhead_ms: from the turn's end decided to the first audio frame sent, less the engines' waits;
// - barge_in_clear_ms: from the barge-in decision to the clear sent;
// - caller_*: the same conversation timed from the caller's side (these include the VAD's
//   start and stop times and the endpointing, which are settings, not work);
// - max_live_calls: the most calls Talky served at once;
// - cpu: the Talky process's CPU time per call, as a share of one core.
//
//     npx tsx bench/voice.ts [calls=200] [cps=20]

import ChildProcess from 'child_process';
import Crypto from 'crypto';
import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import type { Server } from '@hapi/hapi';

import type { TalkyPlugin } from '../core/plugin';
import { speech } from '../plugins/espeak/tts';
import { VoiceLeg } from '../plugins/simulator/voice';
import type { Stt, Tts } from '../plugins/voice/slots';
import { voiceToken } from '../plugins/voice/token';
import { startServer } from '../test/lib/harness';
import { closedPort } from '../test/lib/proxy';
import { signUp } from '../test/lib/session';


const calls = Number(process.argv[2] ?? 200);
const callsPerSecond = Number(process.argv[3] ?? 20);
const rate = 16000;
const said = ['how much does it cost', 'wait I have another question', 'yes I am interested'];
const answer = 'We offer three plans. The basic plan is ten dollars a month for one user. The team plan is fifty dollars a month for up to ten users. The enterprise plan is priced on request.';


// Engines that answer at once: the STT hears the next line of the caller's script whenever the
// VAD asks for a final; the TTS gives 60 ms of a soft tone per character, all in one piece

const instantStt: Stt = {
    open: (options) => {

        let line = 0;
        return Promise.resolve({
            write: () => undefined,
            finalize: () => setImmediate(() => options.onTranscript({ text: said[line++ % said.length]!, final: true, endOfTurn: true })),
            close: () => Promise.resolve()
        });
    }
};


// Made once per rate, then cut to length: the fake's own work stays out of what is measured

const tones = new Map<number, Buffer>();

const tone = (ms: number, sampleRate: number) => {

    let pcm = tones.get(sampleRate);
    if (!pcm) {
        const samples = sampleRate * 30;
        pcm = Buffer.alloc(samples * 2);
        for (let i = 0; i < samples; ++i) {
            pcm.writeInt16LE(Math.round(2000 * Math.sin(2 * Math.PI * 220 * i / sampleRate)), i * 2);
        }

        tones.set(sampleRate, pcm);
    }

    return pcm.subarray(0, Math.min(pcm.length, Math.round(sampleRate * ms / 1000) * 2));
};


const instantTts: Tts = {
    turn: (options) => {

        const queue: Buffer[] = [];
        let ended = false;
        let wake: (() => void) | null = null;
        const more = () => new Promise<void>((resolve) => (wake = resolve));
        return {
            say: (text) => {

                queue.push(tone(text.length * 60, options.sampleRate));
                wake?.();
            },
            end: () => {

                ended = true;
                wake?.();
            },
            audio: (async function* () {

                for (;;) {
                    if (options.signal.aborted) {
                        return;
                    }

                    const next = queue.shift();
                    if (next) {
                        yield next;
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
};


const instantEngines: TalkyPlugin = {
    name: 'bench-engines',
    dependencies: ['core'],
    register(server) {

        server.plugins.core.providers.register('stt', 'instant', () => instantStt);
        server.plugins.core.providers.register('tts', 'instant', () => instantTts);
    }
};


const liveCalls = async (server: Server) => {

    const { db } = server.plugins.core;
    const owner = await signUp(server);
    const created = await server.inject({ method: 'POST', url: '/api/v1/campaigns', headers: owner.headers, payload: { name: 'Voice bench', script_config: { agent_name: 'Ava', company_name: 'Acme', faq: [{ question: 'How much does it cost?', answer }] } } });
    const campaignId = (created.result as { id: string }).id;
    const uuids: string[] = [];
    for (let i = 0; i < calls; ++i) {
        const [lead] = await db('leads').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, phone_number: `+1212555${String(i).padStart(4, '0')}`, status: 'calling' }).returning('id');
        const [job] = await db('dialer_jobs').insert({ tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: lead.id, status: 'in_call', attempt: 1 }).returning('id');
        const id = Crypto.randomUUID();
        await db('calls').insert({ id, tenant_id: owner.tenantId, campaign_id: campaignId, lead_id: lead.id, job_id: job.id, attempt: 1, provider: 'simulator', provider_call_id: `bench-${id}`, to_number: `+1212555${String(i).padStart(4, '0')}`, status: 'in_progress', answered_at: new Date() });
        uuids.push(`bench-${id}`);
    }

    return uuids;
};


const percentiles = (values: number[]) => {

    const sorted = [...values].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p / 100) - 1)] ?? 0;
    return { p50: at(50), p90: at(90), p99: at(99), max: sorted.at(-1) ?? 0, samples: sorted.length };
};


const main = async () => {

    const port = await closedPort();
    const harness = await startServer({
        port, role: 'api', logLevel: 'error', sttProvider: 'instant', ttsProvider: 'instant', llmProvider: 'scripted', databasePoolMax: 20
    }, { listen: true, plugins: [instantEngines] });

    const { server, config } = harness;
    try {
        const uuids = await liveCalls(server);
        const phrases = await Promise.all(said.map(async (text) => (await speech(text, rate)).toString('base64')));
        const file = Path.join(Os.tmpdir(), `talky-voice-${process.pid}.json`);
        Fs.writeFileSync(file, JSON.stringify({ phrases, port, secret: config.jwtSecret, uuids }));

        const metrics = server.plugins.voice.metrics;
        let maxLive = 0;
        const sampler = setInterval(() => (maxLive = Math.max(maxLive, metrics.activeCalls)), 100);
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        const callers = await new Promise<Array<{ ok: boolean; clearMs: number | null; replyMs: number[] }>>((resolve, reject) => {

            const child = ChildProcess.spawn(process.execPath, ['--require', 'tsx/cjs', __filename, '--call', file, String(callsPerSecond)], { stdio: ['ignore', 'pipe', 'inherit'] });
            Os.setPriority(child.pid!, 10);
            let output = '';
            child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
            child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(output)) : reject(new Error(`callers exited with ${code}`))));
        });

        clearInterval(sampler);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        const used = process.cpuUsage(cpu);
        Fs.rmSync(file);

        const histogram = (name: keyof typeof metrics) => {

            const h = metrics[name] as { percentile(p: number): number; max: number; count: number };
            return { p50: h.percentile(50), p90: h.percentile(90), p99: h.percentile(99), max: Number(h.max.toFixed(2)), samples: h.count };
        };

        const cpuSeconds = (used.user + used.system) / 1e6;
        console.log(JSON.stringify({
            calls,
            calls_per_second: callsPerSecond,
            max_live_calls: maxLive,
            completed: callers.filter((caller) => caller.ok).length,
            seconds: Number(seconds.toFixed(1)),
            frame_lateness_ms: histogram('lateness'),
            overhead_ms: histogram('overhead'),
            barge_in_clear_ms: histogram('bargeIn'),
            response_ms: histogram('response'),
            caller_barge_in_to_clear_ms: percentiles(callers.flatMap((caller) => (caller.clearMs === null ? [] : [caller.clearMs]))),
            caller_end_of_speech_to_reply_ms: percentiles(callers.flatMap((caller) => caller.replyMs)),
            cpu: { seconds: Number(cpuSeconds.toFixed(2)), core_share_per_call: Number((cpuSeconds / seconds / calls).toFixed(5)), cores_used: Number((cpuSeconds / seconds).toFixed(2)) }
        }));
    }
    finally {
        await harness.cleanup();
    }
};


// The callers' side: one voice leg per call, as Vonage's would be, following the script

const call = (uri: string, phrases: Buffer[]) => new Promise<{ ok: boolean; clearMs: number | null; replyMs: number[] }>((resolve) => {

    const leg = new VoiceLeg({ uri, contentType: `audio/l16;rate=${rate}` }, 1);
    const result = { ok: false, clearMs: null as number | null, replyMs: [] as number[] };
    let lastAudio = 0;
    let step = 0;
    let spokeAt = 0;
    let saidUntil = 0;
    let bargedAt = 0;

    leg.on('audio', () => {

        const now = performance.now();
        if (saidUntil && now > saidUntil && lastAudio < saidUntil) {
            result.replyMs.push(now - saidUntil);            // the first frame of a reply
        }

        lastAudio = now;
    });

    leg.on('clear', () => {

        if (bargedAt && result.clearMs === null) {
            result.clearMs = performance.now() - bargedAt;
        }
    });

    const say = (phrase: Buffer) => {

        spokeAt = performance.now();
        saidUntil = spokeAt + phrase.length / 2 / rate * 1000;
        leg.say(phrase);
    };

    const ticker = setInterval(() => {

        const now = performance.now();
        const quiet = lastAudio && now - lastAudio > 400 && !leg.saying;
        if (step === 0 && quiet) {
            say(phrases[0]!);                                // the question, once the greeting is over
            step = 1;
        }
        else if (step === 1 && lastAudio > saidUntil && now - saidUntil > 1500) {
            bargedAt = performance.now();
            say(phrases[1]!);                                // over the answer
            step = 2;
        }
        else if (step === 2 && quiet && lastAudio > saidUntil) {
            say(phrases[2]!);                                // agreed: the agent says goodbye and hangs up
            step = 3;
        }
    }, 20);

    const limit = setTimeout(() => leg.close(), 60_000);
    leg.on('close', () => {

        clearInterval(ticker);
        clearTimeout(limit);
        result.ok = step === 3;
        resolve(result);
    });
});


const callers = async (file: string, perSecond: number) => {

    const { phrases, port, secret, uuids } = JSON.parse(Fs.readFileSync(file, 'utf8')) as { phrases: string[]; port: number; secret: string; uuids: string[] };
    const audio = phrases.map((phrase) => Buffer.from(phrase, 'base64'));
    const uri = (uuid: string) => `ws://127.0.0.1:${port}/api/v1/ws/voice/${uuid}?token=${voiceToken(secret, uuid, Date.now())}`;        // answered as it connects
    const results = await Promise.all(uuids.map((uuid, i) => new Promise((resolve) => setTimeout(resolve, i * 1000 / perSecond)).then(() => call(uri(uuid), audio))));
    process.stdout.write(JSON.stringify(results));
};


(process.argv[2] === '--call' ? callers(process.argv[3]!, Number(process.argv[4])) : main()).catch((err) => {

    console.error(err);
    process.exit(1);
});
