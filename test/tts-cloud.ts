import Http from 'http';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { cartesiaTts } from '../plugins/cartesia/tts';
import { elevenlabsTts } from '../plugins/elevenlabs/tts';
import type { Tts, TtsOptions } from '../plugins/voice/slots';
import { speech, startCartesia, type FakeSpeechService } from './fakes/cartesia';
import { startElevenLabs } from './fakes/elevenlabs';
import { startServer } from './lib/harness';


const { describe, it, beforeEach, afterEach } = exports.lab = Lab.script();
const { expect } = Code;


type Adapter = Tts & { close(): Promise<void> };

interface AdapterOverrides {
    url?: string;
    apiKey?: string;
    voiceId?: string;
}


// One service under test: its fake, its adapter, and where its protocol differs

interface Subject {
    service: string;
    start(): Promise<FakeSpeechService>;
    adapter(fake: FakeSpeechService, overrides?: AdapterOverrides): Adapter;
    expected(texts: string[], sampleRate: number): Buffer;          // what the fake makes of sentences said one by one
    askedRate(fake: FakeSpeechService, context: string): number;
    isCancel(message: Record<string, any>): boolean;
    contextless(text: string): object;                               // an error for no context in particular
    long: string;                                                    // a text spoken before the turn ends
}


const collect = async (audio: AsyncIterable<Buffer>): Promise<Buffer> => {

    const chunks: Buffer[] = [];
    for await (const chunk of audio) {
        chunks.push(chunk);
    }

    return Buffer.concat(chunks);
};


// The contexts the fake has heard of, in the order it first heard of them

const contexts = (fake: FakeSpeechService) => [...new Set(fake.received.map(({ message }) => message.context_id as string))];

const made = (fake: FakeSpeechService, context: string): Buffer => Buffer.concat(fake.made.get(context)!);


// A port nothing listens on

const closedPort = async () => {

    const server = Http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
};


const sharedTests = (subject: Subject) => {

    let fake: FakeSpeechService;
    let tts: Adapter;

    const turn = (options: Partial<TtsOptions> = {}) => tts.turn({ sampleRate: 16000, signal: new AbortController().signal, ...options });

    beforeEach(async () => {

        fake = await subject.start();
        tts = subject.adapter(fake);
    });

    afterEach(async () => {

        await tts.close();
        await fake.close();
    });

    it('plays two sentences in order and whole, and ignores what comes after the end', async () => {

        const speaking = turn();
        speaking.say('Hello there.');
        speaking.say('  ');
        speaking.say('How are you? ');
        speaking.end();
        speaking.end();
        speaking.say('Never said.');

        const audio = await collect(speaking.audio);
        const [context] = contexts(fake);
        expect(audio).to.equal(made(fake, context));
        expect(audio).to.equal(subject.expected(['Hello there. ', 'How are you? '], 16000));
        expect(subject.askedRate(fake, context)).to.equal(16000);
        expect(JSON.stringify(fake.received)).to.not.include('Never said');
    });

    it('asks for the call\'s rate when the service has it, and resamples when it has not', async () => {

        const narrow = turn({ sampleRate: 8000 });
        narrow.say('Hello there.');
        narrow.end();
        expect(await collect(narrow.audio)).to.equal(subject.expected(['Hello there. '], 8000));
        expect(subject.askedRate(fake, contexts(fake)[0])).to.equal(8000);

        const odd = turn({ sampleRate: 11025 });
        odd.say('Hello there.');
        odd.end();
        const audio = await collect(odd.audio);
        const context = contexts(fake)[1];
        expect(subject.askedRate(fake, context)).to.equal(16000);
        expect(Math.abs(audio.length / 2 - made(fake, context).length / 2 * 11025 / 16000)).to.be.below(2);
    });

    it('keeps two turns on one socket apart', async () => {

        fake.script.hold = true;                 // the service's answers for both then come mixed

        const first = turn();
        const second = turn();
        first.say('Hello there.');
        second.say('Goodbye now.');
        first.say('How are you?');
        second.say('See you soon.');
        first.end();
        second.end();

        const audio = Promise.all([collect(first.audio), collect(second.audio)]);
        await fake.waitFor((message) => message.context_id === contexts(fake)[1] && (message.continue === false || message.close_context === true));
        fake.release();

        const [one, two] = await audio;
        const [a, b] = contexts(fake);
        expect(one).to.equal(made(fake, a));
        expect(two).to.equal(made(fake, b));
        expect(one).to.equal(subject.expected(['Hello there. ', 'How are you? '], 16000));
        expect(two).to.equal(subject.expected(['Goodbye now. ', 'See you soon. '], 16000));
        expect(fake.peers.length).to.equal(1);
    });

    it('stops at barge-in: cancels the context, ends quietly, and drops what comes late', async () => {

        fake.script.hold = true;
        const controller = new AbortController();
        const speaking = turn({ signal: controller.signal });
        speaking.say(subject.long);

        const reader = speaking.audio[Symbol.asyncIterator]();
        const first = await reader.next();
        expect(first.done).to.be.false();
        expect((first.value as Buffer).length).to.be.above(0);

        const waiting = reader.next();
        controller.abort();
        expect(await waiting).to.equal({ done: true, value: undefined });

        const [context] = contexts(fake);
        const cancel = await fake.waitFor((message) => message.context_id === context && subject.isCancel(message));
        expect(fake.messages(context).at(-1)).to.equal(cancel);

        // The chunks on their way arrive after the cancel; the next turn on the socket hears none of them

        fake.release();
        const next = turn();
        next.say('Hello there.');
        next.end();
        expect(await collect(next.audio)).to.equal(subject.expected(['Hello there. '], 16000));
        expect(await reader.next()).to.equal({ done: true, value: undefined });
        expect(fake.peers.length).to.equal(1);

        speaking.say('Too late.');
        speaking.end();
        expect(fake.messages(context).at(-1)).to.equal(cancel);
    });

    it('cancels a turn whose reader stops early, and says nothing for a turn aborted before it began', async () => {

        fake.script.hold = true;
        const speaking = turn();
        speaking.say(subject.long);
        for await (const chunk of speaking.audio) {
            expect(chunk.length).to.be.above(0);
            break;
        }

        const [context] = contexts(fake);
        await fake.waitFor((message) => message.context_id === context && subject.isCancel(message));
        fake.release();

        const controller = new AbortController();
        controller.abort();
        const aborted = turn({ signal: controller.signal });
        aborted.say('Hello there.');
        aborted.end();
        expect(await collect(aborted.audio)).to.equal(Buffer.alloc(0));
        expect(contexts(fake).length).to.equal(1);
    });

    it('fails a turn the service reports an error for, and the next turn works', async () => {

        fake.script.error = 'Out of credits';
        const failing = turn();
        failing.say('Hello there.');
        failing.end();
        await expect(collect(failing.audio)).to.reject(new RegExp(`^${subject.service} error: Out of credits`));

        const next = turn();
        next.say('Hello there.');
        next.end();
        expect(await collect(next.audio)).to.equal(subject.expected(['Hello there. '], 16000));
        expect(fake.peers.length).to.equal(1);
    });

    it('fails every turn on the socket at an error for no context in particular', async () => {

        fake.script.hold = true;
        const speaking = turn();
        speaking.say(subject.long);
        const reader = speaking.audio[Symbol.asyncIterator]();
        expect((await reader.next()).done).to.be.false();

        fake.send(subject.contextless('Server overloaded'));
        await expect(reader.next()).to.reject(/Server overloaded/);
        fake.release();
    });

    it('fails a turn when the socket drops mid-turn, and reopens it for the next', async () => {

        fake.script.drop = true;
        const dropped = turn();
        dropped.say(subject.long);
        const reader = dropped.audio[Symbol.asyncIterator]();
        expect((await reader.next()).done).to.be.false();
        await expect(reader.next()).to.reject(new RegExp(`^${subject.service} closed the connection mid-turn \\(code 1006\\)$`));
        dropped.end();

        const next = turn();
        next.say('Hello there.');
        next.end();
        expect(await collect(next.audio)).to.equal(subject.expected(['Hello there. '], 16000));
        expect(fake.peers.length).to.equal(2);
    });

    it('reopens the socket the service closed when idle', async () => {

        const before = turn();
        before.say('Hello there.');
        before.end();
        await collect(before.audio);

        await fake.closeIdle();

        const after = turn();
        after.say('How are you?');
        after.end();
        expect(await collect(after.audio)).to.equal(subject.expected(['How are you? '], 16000));
        expect(fake.peers.length).to.equal(2);
    });

    it('fails a turn caught by the socket closing, naming its code and reason', async () => {

        fake.script.hold = true;
        const speaking = turn();
        speaking.say(subject.long);
        const reader = speaking.audio[Symbol.asyncIterator]();
        expect((await reader.next()).done).to.be.false();

        await fake.closeIdle();
        await expect(reader.next()).to.reject(`${subject.service} closed the connection mid-turn (code 1000: idle timeout)`);
    });

    it('ignores messages it cannot use', async () => {

        fake.script.hold = true;
        const speaking = turn();
        speaking.say('Hello there.');
        speaking.end();
        const audio = collect(speaking.audio);

        const end = await fake.waitFor((message) => message.continue === false || message.close_context === true);
        const context = end.context_id;
        fake.send('not json');
        fake.send('42');
        fake.send('null');
        fake.send({ type: 'chunk', data: speech('lost', 16000).toString('base64'), audio: speech('lost', 16000).toString('base64') });
        fake.send({ type: 'timestamps', context_id: context, contextId: context, word_timestamps: { words: ['Hello'], start: [0], end: [0.1] } });
        fake.send({ type: 'chunk', data: '', audio: '', context_id: context, contextId: context });
        fake.release();

        expect(await audio).to.equal(subject.expected(['Hello there. '], 16000));
    });

    it('names the status when the handshake is refused for a bad key', async () => {

        const refused = subject.adapter(fake, { apiKey: 'wrong-key' });
        const speaking = refused.turn({ sampleRate: 16000, signal: new AbortController().signal });
        speaking.say('Hello there.');
        speaking.end();

        await expect(collect(speaking.audio)).to.reject(new RegExp(`^${subject.service} refused the connection: HTTP 401 Unauthorized: .*Invalid API key`));
        expect(fake.refused).to.equal(1);
        expect(fake.peers.length).to.equal(0);
        await refused.close();
    });

    it('fails clearly when the service cannot be reached or no voice is set', async () => {

        const unreachable = subject.adapter(fake, { url: fake.url.replace(/:\d+/, `:${await closedPort()}`) });
        const speaking = unreachable.turn({ sampleRate: 16000, signal: new AbortController().signal });
        speaking.say('Hello there.');
        await expect(collect(speaking.audio)).to.reject(new RegExp(`^${subject.service} connection failed: .*ECONNREFUSED`));
        await unreachable.close();

        const voiceless = subject.adapter(fake, { voiceId: '' });
        const silent = voiceless.turn({ sampleRate: 16000, signal: new AbortController().signal });
        silent.say('Hello there.');
        silent.end();
        await expect(collect(silent.audio)).to.reject(new RegExp(`^${subject.service} has no voice to speak with`));
        await voiceless.close();
        expect(fake.received).to.equal([]);
    });

    it('closes its socket at shutdown, failing a turn still speaking', async () => {

        fake.script.hold = true;
        const speaking = turn();
        speaking.say(subject.long);
        const reader = speaking.audio[Symbol.asyncIterator]();
        expect((await reader.next()).done).to.be.false();

        await tts.close();
        await expect(reader.next()).to.reject(`${subject.service} connection was closed at shutdown`);
        expect((await fake.peers[0].closed).code).to.equal(1000);
    });
};


describe('cartesia', () => {

    const subject: Subject = {
        service: 'Cartesia',
        start: () => startCartesia(),
        adapter: (fake, overrides = {}) => cartesiaTts({ url: fake.url, apiKey: fake.apiKey, model: 'sonic-3.5', version: '2026-03-01', voiceId: 'voice-default', ...overrides }),
        expected: (texts, sampleRate) => Buffer.concat(texts.map((text) => speech(text, sampleRate))),
        askedRate: (fake, context) => fake.messages(context)[0].output_format.sample_rate,
        isCancel: (message) => message.cancel === true,
        contextless: (text) => ({ type: 'error', status_code: 503, error_code: 'overloaded', message: text, done: true }),
        long: 'Thank you for taking my call today.'
    };

    sharedTests(subject);

    describe('requests', () => {

        let fake: FakeSpeechService;

        beforeEach(async () => {

            fake = await startCartesia();
        });

        afterEach(() => fake.close());

        it('sends the key, the version, and the turn\'s settings in every message of its context', async () => {

            const tts = subject.adapter(fake);
            const speaking = tts.turn({ sampleRate: 16000, language: 'en-US', signal: new AbortController().signal });
            speaking.say('Hello there.');
            speaking.end();
            await collect(speaking.audio);

            expect(fake.peers[0].headers['x-api-key']).to.equal('test-cartesia-key');
            expect(fake.peers[0].headers['cartesia-version']).to.equal('2026-03-01');

            const [first, last] = fake.received.map(({ message }) => message);
            expect(first).to.equal({
                model_id: 'sonic-3.5',
                transcript: 'Hello there. ',
                voice: { mode: 'id', id: 'voice-default' },
                context_id: first.context_id,
                language: 'en',
                output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: 16000 },
                continue: true
            });

            expect(first.context_id).to.match(/^talky-[\da-f-]{36}$/);
            expect(last).to.equal({ ...first, transcript: '', continue: false });

            // The campaign's voice wins over the default; with no language none is sent

            const campaign = tts.turn({ sampleRate: 16000, voice: 'voice-campaign', signal: new AbortController().signal });
            campaign.say('Hello there.');
            campaign.end();
            await collect(campaign.audio);

            const [message] = fake.messages(contexts(fake)[1]);
            expect(message.voice).to.equal({ mode: 'id', id: 'voice-campaign' });
            expect(message).to.not.include('language');
            expect(message.context_id).to.not.equal(first.context_id);
            await tts.close();
        });

        it('is the cartesia provider of the tts slot, and closes its socket when the server stops', async () => {

            const harness = await startServer({ ttsProvider: 'cartesia', cartesiaApiKey: fake.apiKey, cartesiaUrl: fake.url, cartesiaVoiceId: 'voice-default', migrateOnStart: false });
            try {
                const speaking = harness.server.plugins.core.providers.get('tts').turn({ sampleRate: 16000, signal: new AbortController().signal });
                speaking.say('Hello there.');
                speaking.end();
                expect(await collect(speaking.audio)).to.equal(speech('Hello there. ', 16000));
            }
            finally {
                await harness.cleanup();
            }

            expect((await fake.peers[0].closed).code).to.equal(1000);
        });
    });
});


describe('elevenlabs', () => {

    const subject: Subject = {
        service: 'ElevenLabs',
        start: () => startElevenLabs(),
        adapter: (fake, overrides = {}) => elevenlabsTts({ url: fake.url, apiKey: fake.apiKey, model: 'eleven_flash_v2_5', voiceId: 'voice-default', ...overrides }),
        expected: (texts, sampleRate) => speech(texts.join('').trim(), sampleRate),
        askedRate: (fake, context) => Number(fake.peers[fake.received.find(({ message }) => message.context_id === context)!.connection].url.searchParams.get('output_format')!.slice(4)),
        isCancel: (message) => message.close_context === true,
        contextless: (text) => ({ message: text, error: 'overloaded', code: 1011 }),
        long: 'Thank you for taking my call today. I am calling about the appointment you booked with us last week, to make sure the time still suits you.'
    };

    sharedTests(subject);

    describe('requests', () => {

        let fake: Awaited<ReturnType<typeof startElevenLabs>>;
        let tts: Adapter;

        beforeEach(async () => {

            fake = await startElevenLabs();
            tts = subject.adapter(fake);
        });

        afterEach(async () => {

            await tts.close();
            await fake.close();
        });

        it('sends the key, the voice, model and format in the address, and opens, fills and ends a context', async () => {

            const speaking = tts.turn({ sampleRate: 16000, language: 'en-US', signal: new AbortController().signal });
            speaking.say('Hello there.');
            speaking.end();
            await collect(speaking.audio);

            const [peer] = fake.peers;
            expect(peer.headers['xi-api-key']).to.equal('test-elevenlabs-key');
            expect(peer.url.pathname).to.equal('/v1/text-to-speech/voice-default/multi-stream-input');
            expect(Object.fromEntries(peer.url.searchParams)).to.equal({ model_id: 'eleven_flash_v2_5', output_format: 'pcm_16000', inactivity_timeout: '180' });

            const [context] = contexts(fake);
            expect(context).to.match(/^talky-[\da-f-]{36}$/);
            expect(fake.messages(context)).to.equal([
                { text: ' ', context_id: context },
                { text: 'Hello there. ', context_id: context },
                { context_id: context, text: '', flush: true },
                { context_id: context, close_context: true }
            ]);
        });

        it('keeps one socket per voice', async () => {

            const voices = ['voice-default', 'voice-campaign', 'voice-default'].map((voice) => {

                const speaking = tts.turn({ sampleRate: 16000, voice, signal: new AbortController().signal });
                speaking.say('Hello there.');
                speaking.end();
                return collect(speaking.audio);
            });

            for (const audio of await Promise.all(voices)) {
                expect(audio).to.equal(speech('Hello there.', 16000));
            }

            expect(fake.peers.map((peer) => fake.voice(peer))).to.equal(['voice-default', 'voice-campaign']);
        });

        it('opens another socket rather than speak more than five contexts on one', async () => {

            fake.script.hold = true;
            const turns = ['One.', 'Two.', 'Three.', 'Four.', 'Five.', 'Six.'].map((text) => {

                const speaking = tts.turn({ sampleRate: 16000, signal: new AbortController().signal });
                speaking.say(text);
                speaking.end();
                return { text, audio: collect(speaking.audio) };
            });

            await fake.waitFor((message) => message.context_id === contexts(fake)[5] && message.close_context === true);
            fake.release();
            for (const { text, audio } of turns) {
                expect(await audio).to.equal(speech(text, 16000));
            }

            expect(fake.peers.length).to.equal(2);
            expect(fake.received.filter(({ message }) => message.text === ' ').map(({ connection }) => connection)).to.equal([0, 0, 0, 0, 0, 1]);
        });

        it('is the elevenlabs provider of the tts slot, and closes its sockets when the server stops', async () => {

            const harness = await startServer({ ttsProvider: 'elevenlabs', elevenlabsApiKey: fake.apiKey, elevenlabsUrl: fake.url, elevenlabsVoiceId: 'voice-default', migrateOnStart: false });
            try {
                const speaking = harness.server.plugins.core.providers.get('tts').turn({ sampleRate: 16000, signal: new AbortController().signal });
                speaking.say('Hello there.');
                speaking.end();
                expect(await collect(speaking.audio)).to.equal(speech('Hello there.', 16000));
            }
            finally {
                await harness.cleanup();
            }

            expect((await fake.peers[0].closed).code).to.equal(1000);
        });
    });
});
