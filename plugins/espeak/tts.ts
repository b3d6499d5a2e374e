import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';

import { Resampler } from '../voice/audio';
import type { Tts, TtsOptions, TtsTurn } from '../voice/slots';


// Offline text to speech with Debian's espeak-ng: one process per sentence, its WAV read from
// stdout as it is made. The text goes in on stdin, so it never meets a shell and can never be
// taken for an option.

export interface EspeakOptions {
    voice: string;                               // for turns that name none, or none espeak-ng could know
    wordsPerMinute: number;
    command?: string;                            // espeak-ng
}


// A voice as espeak-ng names them: a language with an optional variant (en-us, en-gb+f3). Other
// names, like a cloud provider's voice id still on the campaign, get the default instead.

const voiceName = /^[a-z]{2,3}(-[a-z0-9]{1,8})*(\+[a-z0-9-]+)?$/i;

const stderrKept = 500;                          // characters, for the error message


export const espeakTts = (options: EspeakOptions): Tts => {

    const settings = { ...options, command: options.command ?? 'espeak-ng' };
    return {
        turn: (turnOptions) => new EspeakTurn(settings, turnOptions)
    };
};


// A text's whole speech at once, for who needs it before it plays: the simulator's person, tests

export const speech = async (text: string, sampleRate: number, options: EspeakOptions = { voice: 'en-us', wordsPerMinute: 170 }) => {

    const turn = espeakTts(options).turn({ sampleRate, signal: new AbortController().signal });
    turn.say(text);
    turn.end();
    const chunks: Buffer[] = [];
    for await (const chunk of turn.audio) {
        chunks.push(chunk);
    }

    return Buffer.concat(chunks);
};


// The RIFF container around the PCM, walked chunk by chunk as the bytes come (a header may arrive
// in pieces): the format is checked, other chunks skipped, and the data chunk's samples passed on
// resampled to the rate asked. A streaming writer cannot know the data size: espeak-ng writes a
// huge placeholder, others 0, and both mean up to the end.

export class WavStream {

    #pending = Buffer.alloc(0);
    #riff = false;                               // the RIFF header is read
    #resampler: Resampler | null = null;         // once the format is known
    #remaining = -1;                             // bytes left in the data chunk, once in it

    constructor(readonly sampleRate: number) { }

    push(chunk: Buffer): Buffer {

        if (this.#remaining >= 0) {
            return this.#data(chunk);
        }

        this.#pending = Buffer.concat([this.#pending, chunk]);
        if (!this.#riff) {
            if (this.#pending.length < 12) {
                return Buffer.alloc(0);
            }

            if (!/^RIFF[^]{4}WAVE$/.test(this.#pending.toString('latin1', 0, 12))) {
                throw new Error('espeak-ng did not write a WAV stream');
            }

            this.#riff = true;
            this.#pending = this.#pending.subarray(12);
        }

        while (this.#pending.length >= 8) {
            const id = this.#pending.toString('latin1', 0, 4);
            const size = this.#pending.readUInt32LE(4);
            if (id === 'data') {
                if (!this.#resampler) {
                    throw new Error('espeak-ng wrote WAV data before its format');
                }

                this.#remaining = size || Infinity;
                const rest = this.#pending.subarray(8);
                this.#pending = Buffer.alloc(0);
                return this.#data(rest);
            }

            const end = 8 + size + size % 2;     // chunks are padded to an even length
            if (this.#pending.length < end) {
                return Buffer.alloc(0);
            }

            if (id === 'fmt ') {
                this.#format(this.#pending.subarray(8, 8 + size));
            }

            this.#pending = this.#pending.subarray(end);
        }

        return Buffer.alloc(0);
    }

    #format(fmt: Buffer) {

        const pcm16Mono = fmt.length >= 16 && fmt.readUInt16LE(0) === 1 && fmt.readUInt16LE(2) === 1 && fmt.readUInt32LE(4) > 0 && fmt.readUInt16LE(14) === 16;
        if (!pcm16Mono) {
            throw new Error('espeak-ng wrote audio other than 16-bit mono PCM');
        }

        this.#resampler = new Resampler(fmt.readUInt32LE(4), this.sampleRate);
    }

    #data(chunk: Buffer) {

        const data = chunk.subarray(0, this.#remaining);
        this.#remaining -= data.length;
        return this.#resampler!.push(data);
    }
}


// One agent turn: its sentences spoken in order, one process at a time, as the audio is read. An
// abort kills the process at once and ends the audio quietly.

class EspeakTurn implements TtsTurn {

    readonly audio: AsyncIterable<Buffer>;

    #texts: string[] = [];
    #ended = false;
    #wake = () => { };
    #process: ChildProcessWithoutNullStreams | null = null;
    #voice: string;

    constructor(private readonly settings: Required<EspeakOptions>, private readonly options: TtsOptions) {

        this.#voice = voiceName.test(options.voice ?? '') ? options.voice! : settings.voice;
        this.audio = this.#speak();
    }

    say(text: string) {

        if (text.trim()) {
            this.#texts.push(text);
            this.#wake();
        }
    }

    end() {

        this.#ended = true;
        this.#wake();
    }

    async *#speak() {

        const { signal } = this.options;
        const abort = () => {

            this.#process?.kill('SIGKILL');
            this.#wake();
        };

        signal.addEventListener('abort', abort);
        try {
            while (!signal.aborted) {
                const text = this.#texts.shift();
                if (text !== undefined) {
                    yield* this.#synthesize(text);
                    continue;
                }

                if (this.#ended) {
                    return;
                }

                await new Promise<void>((resolve) => {

                    this.#wake = resolve;
                });
            }
        }
        finally {
            signal.removeEventListener('abort', abort);
            this.#process?.kill('SIGKILL');      // the reader stopped early
        }
    }

    async *#synthesize(text: string) {

        const { command, wordsPerMinute } = this.settings;
        const child = spawn(command, ['--stdout', '--stdin', '-b', '1', '-v', this.#voice, '-s', String(wordsPerMinute)]);
        this.#process = child;

        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {

            child.once('error', (error) => resolve({ code: null, signal: null, error }));
            child.once('close', (code, signal) => resolve({ code, signal }));
        });

        let stderr = '';
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (piece: string) => {

            stderr = (stderr + piece).slice(-stderrKept);
        });

        child.stdin.on('error', () => { });     // it may exit without reading: its exit says why
        child.stdin.end(text);

        const wav = new WavStream(this.options.sampleRate);
        for await (const chunk of child.stdout) {
            if (this.options.signal.aborted) {
                break;
            }

            const pcm = wav.push(chunk);
            if (pcm.length) {
                yield pcm;
            }
        }

        const { code, signal, error } = await exited;
        this.#process = null;
        if (this.options.signal.aborted) {
            return;
        }

        if (error) {
            throw new Error(`espeak-ng could not start (${command}): ${error.message}`);
        }

        if (code !== 0) {
            throw new Error([`espeak-ng failed (${signal ?? `exit code ${code}`})`, stderr.trim()].filter(Boolean).join(': '));
        }
    }
}
