import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import Fs from 'fs';
import Os from 'os';
import Path from 'path';
import type { Readable } from 'stream';

import { Resampler } from '../voice/audio';
import type { Stt, SttOptions, SttSession } from '../voice/slots';


// Offline speech to text with Debian's pocketsphinx_continuous, one process per call, fed 16 kHz
// PCM on stdin. It prints the words of each utterance on a line once its voice activity detector
// hears the speaker stop. With the script's expected phrases as a grammar it is exact on clear
// speech; without one it falls back on its general language model, which is poor. The model is
// Debian's US English one, whatever the call's language.

export interface PocketsphinxOptions {
    command: string;                             // pocketsphinx_continuous
    dictionary?: string;                         // the words a grammar may use: the program's default dictionary
}


const engineRate = 16000;
const defaultDictionary = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict';

// The detector ends an utterance after 0.5 s of silence (-vad_postspeech, 50 frames) and the
// program reads its input 2048 samples (128 ms) at a time: finalize() feeds more than both.
// It has no other way to be told to give its words now.

const finalizeMs = 700;

const closeTimeoutMs = 2000;                     // to decode what it holds after its input ends
const stderrKept = 5;                            // lines


export const pocketsphinxStt = (options: PocketsphinxOptions): Stt => {

    let dictionary: Promise<Set<string>> | undefined;               // read on the first call with hints

    return {
        async open(session) {

            const args = ['-infile', '/dev/stdin', '-samprate', String(engineRate)];
            let folder: string | null = null;
            if (session.hints?.length) {
                dictionary ??= readWords(options.dictionary ?? defaultDictionary);
                const grammar = hintGrammar(session.hints, await dictionary);
                if (grammar) {
                    folder = await Fs.promises.mkdtemp(Path.join(Os.tmpdir(), 'talky-pocketsphinx-'));
                    await Fs.promises.writeFile(Path.join(folder, 'hints.gram'), grammar);

                    // Filler words (breath, noise) between grammar words make it miss phrases of synthetic speech, more so at 8 kHz
                    args.push('-jsgf', Path.join(folder, 'hints.gram'), '-fsgusefiller', 'no');
                }
            }

            return new PocketsphinxSession(options.command, args, folder, session);
        }
    };
};


// The head words of a pronunciation dictionary (a word and its phones a line, alternates as
// word(2)). One that cannot be read has no words: the session starts without a grammar.

const readWords = async (path: string) => {

    const text = await Fs.promises.readFile(path, 'utf8').catch(() => '');
    const words = new Set(text.split('\n').map((line) => line.split(/[\s(]/, 1)[0]));
    words.delete('');
    return words;
};


const tokens = (text: string) => text.toLowerCase().split(/[^\p{L}\p{N}'.-]+/u).map((word) => word.replace(/^[.'-]+|[.'-]+$/g, ''));


// A JSGF grammar whose one public rule is any of the hints. Words the dictionary lacks are left
// out, since the program refuses a grammar with one; with no phrase left there is no grammar.

export const hintGrammar = (hints: string[], words: Set<string>) => {

    const phrases = new Set(hints.map((hint) => tokens(hint).filter((word) => words.has(word)).join(' ')));
    phrases.delete('');
    return phrases.size ? `#JSGF V1.0;\n\ngrammar hints;\n\npublic <hint> = ${[...phrases].join(' | ')};\n` : null;
};


const eachLine = (stream: Readable, onLine: (line: string) => void) => {

    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (text: string) => {

        const lines = (pending + text).split('\n');
        pending = lines.pop()!;
        lines.forEach(onLine);
    });
};


// One call's recognizer. The program reads a file, so it is given /dev/stdin; Node's child stdin
// is a socketpair, which /dev/stdin cannot open, so a cat in front of it makes that a pipe. bash
// execs the program in its own place (its death is seen at once) with cat as a process
// substitution, which holds nothing of ours but stdin and ends when stdin does.

class PocketsphinxSession implements SttSession {

    #child: ChildProcessWithoutNullStreams;
    #resampler: Resampler;
    #exited: Promise<void>;
    #closed: Promise<void> | null = null;
    #stderr: string[] = [];

    constructor(command: string, args: string[], private readonly folder: string | null, private readonly options: SttOptions) {

        this.#resampler = new Resampler(options.sampleRate, engineRate);

        // $0 and "$@" pass the command and its arguments through untouched: nothing is quoted
        this.#child = spawn('bash', ['-c', 'exec "$0" "$@" < <(exec cat 2>/dev/null)', command, ...args]);

        eachLine(this.#child.stdout, (line) => {

            const text = line.trim();
            if (text) {                          // an empty line: an utterance it could make nothing of
                options.onTranscript({ text, final: true, endOfTurn: true });
            }
        });

        // Its log is chatty (the configuration, INFO lines): what says why it failed is kept

        eachLine(this.#child.stderr, (line) => {

            if (line.trim() && !/^(INFO:|-|\[NAME\]|Current configuration)/.test(line)) {
                this.#stderr = [...this.#stderr, line.trim()].slice(-stderrKept);
            }
        });

        this.#child.on('error', () => { });                 // a failed spawn is followed by close
        this.#child.stdin.on('error', () => { });           // it is gone: close says why

        this.#exited = new Promise((resolve) => {

            this.#child.once('close', (code, signal) => {

                this.#child.stdin.destroy();                 // cat ends with it
                if (!this.#closed) {
                    const why = [`pocketsphinx stopped (${signal ?? `exit code ${code}`})`, ...this.#stderr].join(': ');
                    options.onError(new Error(why));
                }

                resolve();
            });
        });
    }

    write(pcm: Buffer) {

        if (!this.#closed) {
            this.#child.stdin.write(this.#resampler.push(pcm));
        }
    }

    finalize() {

        this.write(Buffer.alloc(Math.round(this.options.sampleRate * finalizeMs / 1000) * 2));
    }

    close() {

        this.#closed ??= this.#stop();
        return this.#closed;
    }

    async #stop() {

        this.#child.stdin.end();                 // it decodes what it holds, prints it and exits
        const timer = setTimeout(() => this.#child.kill('SIGKILL'), closeTimeoutMs);
        await this.#exited;
        clearTimeout(timer);

        if (this.folder) {
            await Fs.promises.rm(this.folder, { recursive: true, force: true });
        }
    }
}
