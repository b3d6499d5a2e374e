import makeFvad from '@echogarden/fvad-wasm';

import { levelDb, Resampler } from './audio';


// Voice activity: WebRTC's VAD (libfvad as wasm) judges each 20 ms frame, and a state machine
// around it turns those judgements into speech that starts and stops. A frame counts as voiced
// only when the VAD says so and it is loud enough; speech starts after `startMs` of voiced
// frames in a row and stops after `stopMs` of unvoiced ones, so a word gap does not end a turn
// and a click does not start one.

export interface VadSettings {
    mode: 0 | 1 | 2 | 3;                         // libfvad's aggressiveness: 3 rejects the most noise
    startMs: number;
    stopMs: number;
    minVolumeDb: number;                         // dBFS below which a frame is silence, whatever the VAD says
}

export type VadState = 'quiet' | 'starting' | 'speaking' | 'stopping';

export type VadEvent =
    | { type: 'start'; atMs: number }            // atMs: where the speech began, in the stream's audio
    | { type: 'stop'; atMs: number };            // atMs: where it ended (the last voiced frame's end)


interface Fvad {
    _fvad_new(): number;
    _fvad_free(handle: number): void;
    _fvad_set_mode(handle: number, mode: number): number;
    _fvad_set_sample_rate(handle: number, rate: number): number;
    _fvad_process(handle: number, frame: number, samples: number): number;
    _malloc(bytes: number): number;
    _free(pointer: number): void;
    HEAPU8: Uint8Array;
}


// The wasm module is made once per process; each stream has its own VAD instance in it

let engine: Promise<Fvad> | undefined;

const load = () => {

    engine ??= makeFvad() as Promise<Fvad>;

    return engine;
};


const vadRates = [8000, 16000, 32000, 48000];
const frameMs = 20;


export class Vad {

    state: VadState = 'quiet';

    #fvad: Fvad;
    #handle: number;
    #buffer: number;
    #samples: number;
    #resampler: Resampler | null;
    #run = 0;                                    // ms of the current run of voiced (or, speaking, unvoiced) frames
    #runStartMs = 0;
    #positionMs = 0;
    #speechStartMs = 0;
    #closed = false;

    private constructor(fvad: Fvad, sampleRate: number, private readonly settings: VadSettings) {

        const rate = vadRates.includes(sampleRate) ? sampleRate : 16000;
        this.#fvad = fvad;
        this.#resampler = rate === sampleRate ? null : new Resampler(sampleRate, rate);
        this.#samples = rate / 1000 * frameMs;
        this.#handle = fvad._fvad_new();
        if (!this.#handle || fvad._fvad_set_sample_rate(this.#handle, rate) !== 0 || fvad._fvad_set_mode(this.#handle, settings.mode) !== 0) {
            throw new Error(`The VAD refused rate ${rate} or mode ${settings.mode}`);
        }

        this.#buffer = fvad._malloc(this.#samples * 2);
    }

    static async create(sampleRate: number, settings: VadSettings) {

        return new Vad(await load(), sampleRate, settings);
    }

    get speaking() {

        return this.state === 'speaking' || this.state === 'stopping';
    }

    // One 20 ms frame of the stream; returns the event it completes, if any

    push(frame: Buffer): VadEvent | null {

        if (this.#closed) {
            return null;
        }

        const at = this.#positionMs;
        this.#positionMs += frameMs;
        const voiced = this.#voiced(frame);

        switch (this.state) {
            case 'quiet':
            case 'starting':
                if (!voiced) {
                    this.state = 'quiet';
                    this.#run = 0;
                    return null;
                }

                if (this.state === 'quiet') {
                    this.state = 'starting';
                    this.#run = 0;
                    this.#runStartMs = at;
                }

                this.#run += frameMs;
                if (this.#run >= this.settings.startMs) {
                    this.state = 'speaking';
                    this.#speechStartMs = this.#runStartMs;
                    return { type: 'start', atMs: this.#runStartMs };
                }

                return null;

            default:
                if (voiced) {
                    this.state = 'speaking';
                    this.#run = 0;
                    return null;
                }

                if (this.state === 'speaking') {
                    this.state = 'stopping';
                    this.#run = 0;
                    this.#runStartMs = at;
                }

                this.#run += frameMs;
                if (this.#run >= this.settings.stopMs) {
                    this.state = 'quiet';
                    this.#run = 0;
                    return { type: 'stop', atMs: this.#runStartMs };
                }

                return null;
        }
    }

    // How long the caller has been speaking, not counting a silence that may yet end it; or 0

    speechMs() {

        if (this.state === 'stopping') {
            return this.#runStartMs - this.#speechStartMs;
        }

        return this.state === 'speaking' ? this.#positionMs - this.#speechStartMs : 0;
    }

    close() {

        if (!this.#closed) {
            this.#closed = true;
            this.#fvad._free(this.#buffer);
            this.#fvad._fvad_free(this.#handle);
        }
    }

    #voiced(frame: Buffer) {

        if (levelDb(frame) < this.settings.minVolumeDb) {
            return false;
        }

        const pcm = this.#resampler ? this.#resampler.push(frame) : frame;
        const bytes = Math.min(this.#samples * 2, pcm.length - pcm.length % 2);
        const heap = this.#fvad.HEAPU8;
        heap.set(pcm.subarray(0, bytes), this.#buffer);
        heap.fill(0, this.#buffer + bytes, this.#buffer + this.#samples * 2);
        return this.#fvad._fvad_process(this.#handle, this.#buffer, this.#samples) === 1;
    }
}
