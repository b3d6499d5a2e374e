import Fs from 'fs';
import Os from 'os';
import Path from 'path';

import Code from '@hapi/code';
import Hapi from '@hapi/hapi';
import Lab from '@hapi/lab';

import { load } from '../config';
import type { TalkyPlugin } from '../core/plugin';
import { Providers } from '../core/providers';
import { plugin as espeakPlugin } from '../plugins/espeak';
import { espeakTts, WavStream } from '../plugins/espeak/tts';
import { plugin as pocketsphinxPlugin } from '../plugins/pocketsphinx';
import { hintGrammar, pocketsphinxStt } from '../plugins/pocketsphinx/stt';
import { bytesPerFrame, durationMs, levelDb } from '../plugins/voice/audio';
import type { SttSession, Transcript, Tts, TtsTurn } from '../plugins/voice/slots';


const { describe, it, before, after } = exports.lab = Lab.script();
const { expect } = Code;


const phrases = ['Yes, I am interested.', 'No thank you.', 'Call me tomorrow.'];
const heard = phrases.map((phrase) => phrase.toLowerCase().replace(/[,.]/g, ''));


const collect = async (turn: TtsTurn) => {

    const chunks: Buffer[] = [];
    for await (const chunk of turn.audio) {
        chunks.push(chunk);
    }

    return Buffer.concat(chunks);
};


const speak = (tts: Tts, texts: string[], sampleRate: number, voice?: string) => {

    const turn = tts.turn({ sampleRate, voice, signal: new AbortController().signal });
    texts.forEach((text) => turn.say(text));
    turn.end();
    return collect(turn);
};


// The live processes this one started, directly or not, running the named program

const descendants = (program: string) => {

    const table = new Map<number, { parent: number; name: string; state: string }>();
    for (const entry of Fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
        try {
            const [, name, state, parent] = /^\d+ \((.*)\) (\S) (\d+)/.exec(Fs.readFileSync(`/proc/${entry}/stat`, 'utf8'))!;
            table.set(Number(entry), { parent: Number(parent), name, state });
        }
        catch {
            // It ended while the table was read
        }
    }

    const ours = (pid: number): boolean => {

        const parent = table.get(pid)?.parent;
        return parent === process.pid || (parent !== undefined && parent > 1 && ours(parent));
    };

    return [...table].filter(([pid, { name, state }]) => name === program.slice(0, 15) && state !== 'Z' && ours(pid)).map(([pid]) => pid);
};


const until = async (check: () => boolean) => {

    while (!check()) {
        await new Promise((resolve) => setTimeout(resolve, 10));
    }
};


// Small stand-ins for the programs, written as shell scripts

let scripts: string;

const script = (name: string, body: string) => {

    const path = Path.join(scripts, name);
    Fs.writeFileSync(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
    return path;
};


const wavHeader = (options: { format?: number; channels?: number; rate?: number; bits?: number; fmtSize?: number; dataSize?: number; extra?: Buffer } = {}) => {

    const fmt = Buffer.alloc(options.fmtSize ?? 16);
    fmt.writeUInt16LE(options.format ?? 1, 0);
    fmt.writeUInt16LE(options.channels ?? 1, 2);
    fmt.writeUInt32LE(options.rate ?? 16000, 4);
    if (fmt.length >= 16) {
        fmt.writeUInt16LE(options.bits ?? 16, 14);
    }

    const chunk = (id: string, body: Buffer) => {

        const head = Buffer.alloc(8);
        head.write(id, 'latin1');
        head.writeUInt32LE(body.length, 4);
        return Buffer.concat([head, body, Buffer.alloc(body.length % 2)]);
    };

    const data = Buffer.alloc(8);
    data.write('data', 'latin1');
    data.writeUInt32LE(options.dataSize ?? 0, 4);
    return Buffer.concat([Buffer.from('RIFF\xff\xff\xff\xffWAVE', 'latin1'), options.extra ?? Buffer.alloc(0), chunk('fmt ', fmt), data]);
};


const ramp = (samples: number) => {

    const pcm = Buffer.alloc(samples * 2);
    for (let i = 0; i < samples; ++i) {
        pcm.writeInt16LE(i * 7 % 20000 - 10000, i * 2);
    }

    return pcm;
};


before(() => {

    scripts = Fs.mkdtempSync(Path.join(Os.tmpdir(), 'talky-voice-offline-'));
});

after(() => Fs.rmSync(scripts, { recursive: true, force: true }));


describe('espeak tts', () => {

    const tts = espeakTts({ voice: 'en-us', wordsPerMinute: 170 });

    it('speaks a turn\'s sentences in order as PCM at the rate asked', async () => {

        const sentences = ['Hello, this is Talky calling about your appointment.', 'Are you still interested?'];
        const lengths: Record<number, number> = {};
        for (const rate of [8000, 16000]) {
            const pcm = await speak(tts, sentences, rate);
            expect(pcm.length % 2).to.equal(0);
            expect(durationMs(pcm.length, rate)).to.be.between(2 * 300, 2 * 10_000);
            expect(levelDb(pcm)).to.be.above(-40);
            lengths[rate] = pcm.length;
        }

        expect(lengths[16000] / lengths[8000]).to.be.between(1.99, 2.01);

        // The same sentences one per turn, at espeak-ng's own rate (nothing resampled, so the
        // same bytes each time): the turn is both, one after the other

        const turn = await speak(tts, sentences, 22050);
        const first = await speak(tts, [sentences[0]], 22050);
        const second = await speak(tts, [sentences[1]], 22050);
        expect(turn).to.equal(Buffer.concat([first, second]));
        for (const one of [first, second]) {
            expect(durationMs(one.length, 22050)).to.be.between(300, 10_000);
        }
    });

    it('skips blank texts, and ends an empty turn at once', async () => {

        expect(await speak(tts, [' ', ''], 16000)).to.equal(Buffer.alloc(0));
        expect(await speak(tts, ['Hello.', '  '], 22050)).to.equal(await speak(tts, ['Hello.'], 22050));
    });

    it('takes the campaign\'s voice when espeak-ng could know it, the default otherwise', async () => {

        const american = await speak(tts, ['Good morning.'], 22050);
        expect(await speak(tts, ['Good morning.'], 22050, 'en-us')).to.equal(american);
        expect(await speak(tts, ['Good morning.'], 22050, 'en-gb')).to.not.equal(american);
        expect(await speak(tts, ['Good morning.'], 22050, 'en-gb+f3')).to.not.equal(american);

        for (const voice of ['a0e99841-438c-4a64-b679-ae501e7d6091', '21m00Tcm4TlvDq8ikWAM', 'en us', '-w /tmp/x', '']) {
            expect(await speak(tts, ['Good morning.'], 22050, voice), voice).to.equal(american);
        }
    });

    it('stops at once when aborted mid-turn, quietly, and speaks nothing more', async () => {

        const controller = new AbortController();
        const turn = tts.turn({ sampleRate: 16000, signal: controller.signal });
        const long = 'This is a long sentence that takes espeak several seconds to say, so that it is still speaking when the turn is cut off. '.repeat(4);
        turn.say(long);                          // more audio than the socket holds: it waits to be read
        turn.say(long);

        let chunks = 0;
        for await (const chunk of turn.audio) {
            expect(chunk.length).to.be.above(0);
            ++chunks;
            if (chunks === 1) {
                expect(descendants('espeak-ng')).to.have.length(1);
                controller.abort();
            }
        }

        expect(chunks).to.equal(1);
        expect(descendants('espeak-ng')).to.equal([]);

        turn.say('Anything else.');
        turn.end();
        expect(await collect(turn)).to.equal(Buffer.alloc(0));
    });

    it('ends quietly when aborted while waiting for text, or before it starts', async () => {

        const controller = new AbortController();
        const turn = tts.turn({ sampleRate: 8000, signal: controller.signal });
        const audio = collect(turn);
        await new Promise((resolve) => setTimeout(resolve, 20));
        controller.abort();
        expect(await audio).to.equal(Buffer.alloc(0));

        const late = tts.turn({ sampleRate: 8000, signal: controller.signal });
        late.say('Too late.');
        late.end();
        expect(await collect(late)).to.equal(Buffer.alloc(0));
        expect(descendants('espeak-ng')).to.equal([]);
    });

    it('kills the process when the reader stops early', async () => {

        const turn = tts.turn({ sampleRate: 16000, signal: new AbortController().signal });
        turn.say('This sentence is long enough to be read in more than one piece of audio, and more.');
        for await (const chunk of turn.audio) {
            expect(chunk.length).to.be.above(0);
            break;
        }

        await until(() => descendants('espeak-ng').length === 0);
    });

    it('fails clearly when espeak-ng cannot speak', async () => {

        const missing = espeakTts({ voice: 'en-us', wordsPerMinute: 170, command: Path.join(scripts, 'no-such-espeak') });
        await expect(speak(missing, ['Hello.'], 16000)).to.reject(/espeak-ng could not start \(.*no-such-espeak\): .*ENOENT/);

        const unknown = espeakTts({ voice: 'zz-zz', wordsPerMinute: 170 });
        await expect(speak(unknown, ['Hello.'], 16000)).to.reject(/^espeak-ng failed \(exit code 1\): .*voice does not exist/);

        const killed = espeakTts({ voice: 'en-us', wordsPerMinute: 170, command: script('killed', 'kill -9 $$') });
        await expect(speak(killed, ['Hello.'], 16000)).to.reject('espeak-ng failed (SIGKILL)');

        const garbage = espeakTts({ voice: 'en-us', wordsPerMinute: 170, command: script('garbage', 'cat; echo "this is not a WAV file"; exec sleep 5') });
        await expect(speak(garbage, ['Hello.'], 16000)).to.reject('espeak-ng did not write a WAV stream');
        await until(() => descendants('sleep').length === 0);

        // What was spoken before the failure came through

        const turn = unknown.turn({ sampleRate: 16000, voice: 'en-us', signal: new AbortController().signal });
        turn.say('Hello.');
        turn.end();
        expect((await collect(turn)).length).to.be.above(0);
    });

    it('streams a WAV whose header comes in pieces', async () => {

        Fs.writeFileSync(Path.join(scripts, 'head.wav'), wavHeader({ rate: 8000, extra: Buffer.from('LIST\x03\x00\x00\x00abc\x00', 'latin1') }));
        Fs.writeFileSync(Path.join(scripts, 'body.pcm'), ramp(800));
        const slow = espeakTts({ voice: 'en-us', wordsPerMinute: 170, command: script('slow', 'cat >/dev/null; dir=$(dirname "$0"); head -c 30 "$dir/head.wav"; sleep 0.1; tail -c +31 "$dir/head.wav"; sleep 0.1; cat "$dir/body.pcm"') });
        expect(await speak(slow, ['Hello.'], 8000)).to.equal(ramp(800));
        expect((await speak(slow, ['Hello.'], 16000)).length).to.be.between(3190, 3200);
    });
});


describe('WAV stream', () => {

    it('skips the chunks before the data, whole or in pieces', () => {

        const header = wavHeader({ rate: 16000, extra: Buffer.from('LIST\x05\x00\x00\x00hello\x00junk\x00\x00\x00\x00', 'latin1') });
        const body = ramp(1000);
        const file = Buffer.concat([header, body]);

        expect(new WavStream(16000).push(file)).to.equal(body);

        const wav = new WavStream(16000);
        const pieces: Buffer[] = [];
        for (let i = 0; i < file.length; ++i) {
            pieces.push(wav.push(file.subarray(i, i + 1)));
        }

        expect(Buffer.concat(pieces)).to.equal(body);
    });

    it('stops at the end of a sized data chunk, and resamples', () => {

        const body = ramp(1000);
        expect(new WavStream(16000).push(Buffer.concat([wavHeader({ dataSize: 600 }), body, Buffer.from('LIST\x00\x00\x00\x00')]))).to.equal(body.subarray(0, 600));
        expect(new WavStream(8000).push(Buffer.concat([wavHeader({ rate: 16000 }), body])).length).to.equal(1000);
    });

    it('refuses what is not 16-bit mono PCM in RIFF', () => {

        expect(() => new WavStream(16000).push(Buffer.from('RIFX\x00\x00\x00\x00WAVEfmt '))).to.throw('espeak-ng did not write a WAV stream');
        expect(() => new WavStream(16000).push(Buffer.from('RIFF\x00\x00\x00\x00AVI fmt '))).to.throw('espeak-ng did not write a WAV stream');
        expect(() => new WavStream(16000).push(Buffer.from('RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00'))).to.throw('espeak-ng wrote WAV data before its format');

        for (const options of [{ fmtSize: 14 }, { format: 3 }, { channels: 2 }, { rate: 0 }, { bits: 8 }]) {
            expect(() => new WavStream(16000).push(wavHeader(options)), JSON.stringify(options)).to.throw('espeak-ng wrote audio other than 16-bit mono PCM');
        }
    });
});


describe('pocketsphinx stt', () => {

    const tts = espeakTts({ voice: 'en-us', wordsPerMinute: 170 });
    const stt = pocketsphinxStt({ command: 'pocketsphinx_continuous' });
    const speech: Record<number, Buffer[]> = {};

    before(async () => {

        for (const rate of [8000, 16000]) {
            speech[rate] = [];
            for (const phrase of phrases) {
                speech[rate].push(await speak(tts, [phrase], rate));
            }
        }
    });


    const listen = async (options: { sampleRate: number; hints?: string[]; command?: string; dictionary?: string }) => {

        const transcripts: Transcript[] = [];
        const errors: Error[] = [];
        const engine = options.command || options.dictionary ? pocketsphinxStt({ command: options.command ?? 'pocketsphinx_continuous', dictionary: options.dictionary }) : stt;
        const session = await engine.open({
            sampleRate: options.sampleRate,
            hints: options.hints,
            onTranscript: (transcript) => transcripts.push(transcript),
            onError: (err) => errors.push(err)
        });

        return { session, transcripts, errors };
    };


    // The audio of a call: 20 ms frames, as they come from the phone

    const feed = (session: SttSession, pcm: Buffer, sampleRate: number) => {

        const frame = bytesPerFrame(sampleRate);
        for (let i = 0; i < pcm.length; i += frame) {
            session.write(pcm.subarray(i, i + frame));
        }
    };

    const silence = (ms: number, sampleRate: number) => Buffer.alloc(sampleRate / 1000 * ms * 2);


    it('hears the hinted phrases exactly, one transcript each, at 16000 and 8000 Hz', async () => {

        for (const rate of [16000, 8000]) {
            const { session, transcripts, errors } = await listen({ sampleRate: rate, hints: [...phrases, 'Not interested', 'Who is this?'] });
            feed(session, silence(500, rate), rate);
            for (const pcm of speech[rate]) {
                feed(session, pcm, rate);
                feed(session, silence(1000, rate), rate);
            }

            await session.close();
            expect(transcripts.map(({ text }) => text.toLowerCase()), `${rate} Hz`).to.equal(heard);
            expect(transcripts.every(({ final, endOfTurn }) => final && endOfTurn)).to.be.true();
            expect(errors).to.equal([]);
        }
    });

    it('gives two transcripts for two utterances a second apart, the first before the input ends', async () => {

        const { session, transcripts, errors } = await listen({ sampleRate: 16000, hints: phrases });
        feed(session, speech[16000][2], 16000);
        feed(session, silence(1000, 16000), 16000);
        await until(() => transcripts.length === 1);
        expect(transcripts[0]).to.equal({ text: heard[2], final: true, endOfTurn: true });

        feed(session, speech[16000][1], 16000);
        feed(session, silence(1000, 16000), 16000);
        await session.close();
        expect(transcripts.map(({ text }) => text)).to.equal([heard[2], heard[1]]);
        expect(errors).to.equal([]);
    });

    it('gives the words as soon as it is told the speaker stopped', async () => {

        const { session, transcripts } = await listen({ sampleRate: 8000, hints: phrases });
        const words = speech[8000][0];
        let end = words.length;
        while (levelDb(words.subarray(end - 160, end)) < -50) {
            end -= 160;                          // espeak-ng's own trailing silence is cut off
        }

        feed(session, words.subarray(0, end), 8000);
        session.finalize();
        await until(() => transcripts.length === 1);
        expect(transcripts[0].text).to.equal(heard[0]);
        await session.close();
    });

    it('closes cleanly: the processes end, the grammar goes, and closing again is fine', async () => {

        const { session, transcripts, errors } = await listen({ sampleRate: 16000, hints: phrases });
        await until(() => descendants('pocketsphinx_continuous').length === 1);
        expect(descendants('cat')).to.have.length(1);

        const args = Fs.readFileSync(`/proc/${descendants('pocketsphinx_continuous')[0]}/cmdline`, 'utf8').split('\0');
        const grammar = args[args.indexOf('-jsgf') + 1];
        expect(Fs.readFileSync(grammar, 'utf8')).to.contain('public <hint> = yes i am interested | no thank you | call me tomorrow;');

        feed(session, speech[16000][1], 16000);
        const closing = session.close();
        expect(session.close()).to.shallow.equal(closing);
        await closing;
        await session.close();
        session.write(speech[16000][0]);
        session.finalize();

        expect(transcripts.map(({ text }) => text)).to.equal([heard[1]]);       // what it held when its input ended
        expect(errors).to.equal([]);
        expect(descendants('pocketsphinx_continuous')).to.equal([]);
        expect(Fs.existsSync(Path.dirname(grammar))).to.be.false();
    });

    it('writes only dictionary words into the grammar, and starts without one when none is left', async () => {

        const words = new Set(['yes', 'i', 'am', 'interested', 'i\'m', 'busy', 'call', 'me', 'tomorrow', 'a.']);
        expect(hintGrammar(['Yes, I am interested.', '  yes i AM interested!', 'I\'m busy', '"Call me" tomorrow...', 'Xyzzy', 'A. B.', ''], words)).to.equal(
            '#JSGF V1.0;\n\ngrammar hints;\n\npublic <hint> = yes i am interested | i\'m busy | call me tomorrow;\n');
        expect(hintGrammar(['xyzzy plugh', '...'], words)).to.be.null();

        for (const options of [{ hints: ['xyzzy plugh'] }, { hints: phrases, dictionary: Path.join(scripts, 'no-such.dict') }, { hints: [] }, {}]) {
            const { session, errors } = await listen({ sampleRate: 16000, ...options });
            feed(session, silence(300, 16000), 16000);
            await session.close();
            expect(errors).to.equal([]);
        }
    });

    it('says once, and why, when the program fails or dies', async () => {

        const missing = await listen({ sampleRate: 16000, command: Path.join(scripts, 'no-such-pocketsphinx') });
        await until(() => missing.errors.length > 0);
        expect(missing.errors[0].message).to.match(/^pocketsphinx stopped \(exit code 127\): .*no-such-pocketsphinx: No such file or directory$/);
        await missing.session.close();
        expect(missing.errors).to.have.length(1);

        const failing = await listen({ sampleRate: 16000, command: script('failing', 'echo; echo hello; echo "INFO: loading" >&2; echo "-samprate 16000" >&2; echo >&2; echo "ERROR: \\"model.c\\", line 1: no model" >&2; exit 1') });
        await until(() => failing.errors.length > 0);
        expect(failing.errors[0].message).to.equal('pocketsphinx stopped (exit code 1): ERROR: "model.c", line 1: no model');
        expect(failing.transcripts).to.equal([{ text: 'hello', final: true, endOfTurn: true }]);
        await failing.session.close();

        const killed = await listen({ sampleRate: 16000, hints: phrases });
        await until(() => descendants('pocketsphinx_continuous').length === 1);
        process.kill(descendants('pocketsphinx_continuous')[0], 'SIGKILL');
        await until(() => killed.errors.length > 0);
        expect(killed.errors[0].message).to.match(/^pocketsphinx stopped \(SIGKILL\)/);
        feed(killed.session, speech[16000][0], 16000);
        await killed.session.close();
        expect(killed.errors).to.have.length(1);
    });

    it('kills a program that does not end with its input', async () => {

        const { session, errors } = await listen({ sampleRate: 16000, command: script('stubborn', 'exec sleep 30') });
        await until(() => descendants('sleep').length === 1);
        await session.close();
        expect(descendants('sleep')).to.equal([]);
        expect(errors).to.equal([]);
    });
});


describe('offline voice plugins', () => {

    it('fill the tts and stt slots', async () => {

        const config = load({});
        const providers = new Providers(config);
        const core: TalkyPlugin = {
            name: 'core',
            register(server) {

                server.expose('config', config);
                server.expose('providers', providers);
            }
        };

        const server = Hapi.server();
        await server.register([core, espeakPlugin, pocketsphinxPlugin]);
        await server.initialize();

        expect(providers.chosen('tts')).to.equal('espeak');
        expect(providers.chosen('stt')).to.equal('pocketsphinx');
        expect((await speak(providers.get('tts'), ['Hello.'], 16000)).length).to.be.above(0);

        const session = await providers.get('stt').open({ sampleRate: 16000, hints: phrases, onTranscript: () => { }, onError: () => { } });
        await session.close();
        await server.stop();
    });
});
