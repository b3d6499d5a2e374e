import Crypto from 'crypto';

import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { deepgramStt, listenUrl, type DeepgramOptions } from '../plugins/deepgram/stt';
import type { SttOptions, Transcript } from '../plugins/voice/slots';
import { startDeepgram, type FakeDeepgramOptions } from './fakes/deepgram';
import { startServer, waitFor } from './lib/harness';


const { describe, it, afterEach } = exports.lab = Lab.script();
const { expect } = Code;


// 16 kHz: 32 000 bytes a second, 3200 bytes a 100 ms chunk

const chunk = 3200;

type Fake = Awaited<ReturnType<typeof startDeepgram>>;


describe('deepgram', () => {

    let fake: Fake | undefined;

    afterEach(async () => {

        await fake?.close();
        fake = undefined;
    });

    const start = async (options: FakeDeepgramOptions = {}) => {

        fake = await startDeepgram(options);
        return fake;
    };

    // Opens a session on the fake, keeping what it hears and the errors it reports

    const listen = async (settings: Partial<DeepgramOptions> = {}, options: Partial<SttOptions> = {}) => {

        const transcripts: Transcript[] = [];
        const errors: Error[] = [];
        const stt = deepgramStt({ url: fake!.url, apiKey: fake!.apiKey, model: 'nova-3', ...settings });
        const session = await stt.open({
            sampleRate: 16000,
            onTranscript: (transcript) => transcripts.push(transcript),
            onError: (err) => errors.push(err),
            ...options
        });

        return { session, transcripts, errors, connection: fake!.connections.at(-1)! };
    };

    const speak = (session: { write(pcm: Buffer): void }, bytes: number) => {

        for (let i = 0; i < bytes; i += chunk) {
            session.write(Buffer.alloc(Math.min(chunk, bytes - i), 1));
        }
    };

    it('opens with the model, audio format, turn settings, hints and key Deepgram expects', async () => {

        await start();
        const { session, connection } = await listen({}, { sampleRate: 8000, language: 'en-US', hints: ['Talky', ' solar panels ', ''] });

        expect(connection.path).to.equal('/v1/listen');
        expect(connection.headers.authorization).to.equal(`Token ${fake!.apiKey}`);
        expect([...connection.query]).to.equal([
            ['model', 'nova-3'],
            ['encoding', 'linear16'],
            ['sample_rate', '8000'],
            ['channels', '1'],
            ['interim_results', 'true'],
            ['endpointing', '300'],
            ['utterance_end_ms', '1000'],
            ['vad_events', 'true'],
            ['language', 'en-US'],
            ['keyterm', 'Talky'],
            ['keyterm', 'solar panels']
        ]);

        await session.close();

        // Older models take keywords; a query already in DEEPGRAM_URL is kept

        const url = new URL(listenUrl({ url: 'wss://dg.example/v1/listen?smart_format=true', apiKey: 'k', model: 'nova-2' }, { sampleRate: 24000, hints: ['Talky'] }));
        expect(url.searchParams.get('smart_format')).to.equal('true');
        expect(url.searchParams.get('sample_rate')).to.equal('24000');
        expect(url.searchParams.getAll('keywords')).to.equal(['Talky']);
        expect(url.searchParams.has('keyterm')).to.be.false();
        expect(url.searchParams.has('language')).to.be.false();
    });

    it('sends the audio byte-exact, and nothing once closed', async () => {

        await start();
        const { session, connection } = await listen();

        const audio = Crypto.randomBytes(10 * 640 + 123);
        for (let i = 0; i < audio.length; i += 640) {
            session.write(audio.subarray(i, i + 640));
        }

        session.write(Buffer.alloc(0));                                  // an empty frame would mean close to Deepgram
        await waitFor(() => connection.audio.length === audio.length);
        expect(connection.audio).to.equal(audio);

        await session.close();
        session.write(Buffer.alloc(640, 9));
        session.finalize();
        expect(connection.audio).to.equal(audio);
        expect(connection.controls).to.equal(['CloseStream']);
    });

    it('turns interim and final results into transcripts, with the end of each turn', async () => {

        await start({
            utterances: [
                { text: 'Hello there, I am interested', bytes: 16000 },
                { text: 'tell me more', bytes: 9600, end: 'utterance_end' },
                { text: 'okay', bytes: 3200, end: 'none' }
            ]
        });

        const { session, transcripts, errors } = await listen();
        for (let i = 0; i < 10; ++i) {
            session.write(Buffer.alloc(1600, i));
        }

        await waitFor(() => transcripts.some((transcript) => transcript.final));
        expect(transcripts).to.equal([
            { text: 'Hello', final: false, endOfTurn: false, startMs: 0, endMs: 100, confidence: 0.98 },
            { text: 'Hello there,', final: false, endOfTurn: false, startMs: 0, endMs: 200, confidence: 0.98 },
            { text: 'Hello there, I', final: false, endOfTurn: false, startMs: 0, endMs: 300, confidence: 0.98 },
            { text: 'Hello there, I am', final: false, endOfTurn: false, startMs: 0, endMs: 400, confidence: 0.98 },
            { text: 'Hello there, I am interested', final: true, endOfTurn: true, startMs: 0, endMs: 500, confidence: 0.98 }
        ]);

        // A final without speech_final leaves the turn open until UtteranceEnd closes it

        transcripts.length = 0;
        speak(session, 9600);
        await waitFor(() => transcripts.length === 4);
        expect(transcripts.slice(2)).to.equal([
            { text: 'tell me more', final: true, endOfTurn: false, startMs: 500, endMs: 800, confidence: 0.98 },
            { text: '', final: true, endOfTurn: true, endMs: 800 }
        ]);

        // A final that neither speech_final nor UtteranceEnd ends

        transcripts.length = 0;
        speak(session, 3200);
        await waitFor(() => transcripts.length === 1);
        expect(transcripts).to.equal([{ text: 'okay', final: true, endOfTurn: false, startMs: 800, endMs: 900, confidence: 0.98 }]);

        await session.close();
        expect(errors).to.equal([]);
    });

    it('gets the final of what was heard so far on finalize', async () => {

        await start({ utterances: [{ text: 'Yes please', bytes: 32000 }] });
        const { session, transcripts, connection } = await listen();

        speak(session, 16000);
        session.finalize();
        await waitFor(() => transcripts.some((transcript) => transcript.final));
        expect(transcripts).to.equal([
            { text: 'Yes', final: false, endOfTurn: false, startMs: 0, endMs: 500, confidence: 0.98 },
            { text: 'Yes', final: true, endOfTurn: false, startMs: 0, endMs: 500, confidence: 0.98 }
        ]);

        expect(connection.controls).to.equal(['Finalize']);

        // Nothing left to hear: the answer to Finalize is an empty final, passed on so no one waits

        transcripts.length = 0;
        session.finalize();
        await waitFor(() => transcripts.length);
        expect(transcripts).to.equal([{ text: '', final: true, endOfTurn: false, startMs: 500, endMs: 500, confidence: 0 }]);

        await session.close();
    });

    it('keeps an idle session alive, and sends no KeepAlive while audio flows', async () => {

        await start();
        const { session, connection } = await listen({ keepAliveMs: 100 });

        for (let i = 0; i < 20; ++i) {
            session.write(Buffer.alloc(320));
            await new Promise((resolve) => setTimeout(resolve, 10));
        }

        expect(connection.controls).to.equal([]);
        await waitFor(() => connection.controls.length >= 2);
        expect(connection.controls.slice(0, 2)).to.equal(['KeepAlive', 'KeepAlive']);

        await session.close();
    });

    it('rejects open with the reason when Deepgram refuses the handshake or cannot be reached', async () => {

        await start();
        const stt = deepgramStt({ url: fake!.url, apiKey: 'wrong-key', model: 'nova-3' });
        const options = { sampleRate: 16000, onTranscript: () => undefined, onError: () => undefined };

        await expect(stt.open(options)).to.reject('Deepgram refused the connection: HTTP 401 (Invalid credentials.)');
        await expect(deepgramStt({ url: `${fake!.url}/nowhere`, apiKey: fake!.apiKey, model: 'nova-3' }).open(options)).to.reject('Deepgram refused the connection: HTTP 404');
        expect(fake!.refused).to.equal(2);
        expect(fake!.connections).to.have.length(0);

        const url = fake!.url;
        await fake!.close();
        fake = undefined;
        await expect(deepgramStt({ url, apiKey: 'k', model: 'nova-3' }).open(options)).to.reject(/^Deepgram connection failed: .*ECONNREFUSED/);
    });

    it('waits for a slow handshake, up to its limit', async () => {

        await start({ handshakeDelayMs: 300 });
        const options = { sampleRate: 16000, onTranscript: () => undefined, onError: () => undefined };

        await expect(deepgramStt({ url: fake!.url, apiKey: fake!.apiKey, model: 'nova-3', openTimeoutMs: 20 }).open(options)).to.reject('Deepgram connection failed: Opening handshake has timed out');

        const { session } = await listen();
        await session.close();
    });

    it('reports a session Deepgram drops, once', async () => {

        await start({ dropAfterBytes: 2 * chunk });
        const { session, errors } = await listen();

        speak(session, 4 * chunk);
        await waitFor(() => errors.length);
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(errors).to.have.length(1);
        expect(errors[0].message).to.equal('Deepgram closed the connection (1006)');

        session.write(Buffer.alloc(chunk));                              // the pipeline may still be writing
        session.finalize();
        await session.close();
        expect(errors).to.have.length(1);
    });

    it('reports a session Deepgram closes with a reason, or breaks, once', async () => {

        await start();
        const closed = await listen();

        closed.connection.close(1011, 'NET-0001: no audio received');
        await waitFor(() => closed.errors.length);
        expect(closed.errors.map((err) => err.message)).to.equal(['Deepgram closed the connection (1011 NET-0001: no audio received)']);

        const broken = await listen();
        broken.connection.corrupt();
        await waitFor(() => broken.errors.length);
        await broken.session.close();
        expect(broken.errors).to.have.length(1);
        expect(broken.errors[0].message).to.startWith('Deepgram connection failed: ');
        expect(closed.errors).to.have.length(1);
    });

    it('closes with CloseStream, taking the last results, and gives up on a server that never closes', async () => {

        await start({ utterances: [{ text: 'one two three four', bytes: 12800 }] });
        const { session, transcripts, errors, connection } = await listen();

        speak(session, 6400);
        await waitFor(() => transcripts.length);
        await session.close();
        expect(connection.controls).to.equal(['CloseStream']);
        expect(transcripts.at(-1)).to.equal({ text: 'one two', final: true, endOfTurn: false, startMs: 0, endMs: 200, confidence: 0.98 });
        expect(await connection.closed).to.equal({ code: 1000, reason: '' });

        await fake!.close();
        await start({ ignoreCloseStream: true });
        const stubborn = await listen({ closeTimeoutMs: 50 });

        const closing = stubborn.session.close();
        expect(stubborn.session.close()).to.shallow.equal(closing);
        await closing;
        expect(stubborn.connection.controls).to.equal(['CloseStream']);
        expect((await stubborn.connection.closed).code).to.equal(1006);
        expect(errors).to.equal([]);
        expect(stubborn.errors).to.equal([]);
    });

    it('ignores what is not JSON or not a result, and answers slowly sent in order', async () => {

        await start({ utterances: [{ text: 'I can hear you', bytes: 12800 }], garbage: true, replyDelayMs: 30 });
        const { session, transcripts, errors, connection } = await listen();

        connection.send('not json at all');
        connection.send('null');
        connection.send({ type: 'Results', is_final: false });
        connection.send({ type: 'Results', is_final: true, channel: 'none' });
        connection.send({ type: 'Results', is_final: true, speech_final: true, start: 1, channel: { alternatives: [{ transcript: 7, confidence: 'high' }] } });
        connection.send({ type: 'Results', is_final: true, from_finalize: true });
        connection.send({ type: 'UtteranceEnd' });
        connection.send({ type: 'Error', description: 'something' });
        connection.send(Buffer.from('binary'));

        speak(session, 12800);
        await waitFor(() => transcripts.length === 7);
        expect(transcripts).to.equal([
            { text: '', final: true, endOfTurn: true },
            { text: '', final: true, endOfTurn: false },
            { text: '', final: true, endOfTurn: true },
            { text: 'I', final: false, endOfTurn: false, startMs: 0, endMs: 100, confidence: 0.98 },
            { text: 'I can', final: false, endOfTurn: false, startMs: 0, endMs: 200, confidence: 0.98 },
            { text: 'I can hear', final: false, endOfTurn: false, startMs: 0, endMs: 300, confidence: 0.98 },
            { text: 'I can hear you', final: true, endOfTurn: true, startMs: 0, endMs: 400, confidence: 0.98 }
        ]);

        await session.close();
        expect(errors).to.equal([]);
    });

    it('is the deepgram provider of the stt slot, set up from the DEEPGRAM_ settings', async () => {

        await start({ utterances: [{ text: 'hello', bytes: 3200 }] });
        const harness = await startServer({ sttProvider: 'deepgram', deepgramUrl: fake!.url, deepgramApiKey: fake!.apiKey });
        try {
            const transcripts: Transcript[] = [];
            const session = await harness.server.plugins.core.providers.get('stt').open({ sampleRate: 16000, onTranscript: (transcript) => transcripts.push(transcript), onError: () => undefined });
            speak(session, 3200);
            await waitFor(() => transcripts.length);
            expect(transcripts[0]).to.include({ text: 'hello', final: true });
            expect(fake!.connections[0].query.get('model')).to.equal('nova-3');
            await session.close();
        }
        finally {
            await harness.cleanup();
        }
    });
});
