import { performance } from 'perf_hooks';

import type { WebSocket } from 'ws';

import { bytesPerFrame, frameMs } from './audio';
import type { Pacer } from './pacer';


// Vonage's audio socket, Talky's side. Vonage speaks first: a text frame `websocket:connected`
// naming the audio format, then binary frames of 20 ms of 16-bit PCM; text frames bring DTMF
// digits and answer our commands. We send frames back paced at real time, `{"action":"clear"}`
// to drop what Vonage still has queued (barge-in), and `{"action":"notify"}` to learn when
// everything sent before it has played. Anything else from the wire is refused or ignored,
// never trusted.

export const sampleRates = [8000, 16000, 24000];


export interface Connected {
    sampleRate: number;
    headers: Record<string, unknown>;            // what the NCCO put in the endpoint's headers
}

export interface SocketEvents {
    connected(info: Connected): void;
    audio(frame: Buffer): void;                  // exactly 20 ms
    dtmf(digit: string, durationMs?: number): void;
    sent(frame: Buffer): void;                   // a frame of ours went out
    played(payload: unknown): void;              // a notify came back: all before it has played
    closed(): void;
    failed(err: Error): void;                    // a handler threw: the call is closed, the process lives on
}


type Mark = () => void;

// Audio waits as the chunks it came in, whole frames of them, cut into frames only as it is
// sent: a minute of queued speech is a few objects, not three thousand, for the collector to copy

interface Chunk {
    pcm: Buffer;
    at: number;                                  // the next frame's offset
}

const isChunk = (item: Chunk | Mark): item is Chunk => typeof item !== 'function';


export class AudioSocket {

    sampleRate = 0;
    framesIn = 0;
    framesOut = 0;

    #queue: Array<Chunk | Mark> = [];
    #pending: Buffer | null = null;              // the part of a frame not yet made whole
    #inbound: Buffer | null = null;
    #frame = 0;
    #closed = false;
    #due: number | null = null;                  // when the next frame is due; null while nothing plays
    #paced = { pump: (now: number) => this.#pump(now) };

    constructor(private readonly ws: WebSocket, private readonly pacer: Pacer, private readonly events: SocketEvents) {

        ws.on('message', (data: Buffer, isBinary: boolean) => {

            try {
                if (isBinary) {
                    this.#audio(data);
                }
                else {
                    this.#text(data.toString());
                }

                this.pacer.overdue();
            }
            catch (err) {
                this.events.failed(err as Error);
                this.close(1011, 'Internal error');
            }
        });
        ws.on('close', () => this.#close());
    }

    // Audio to play after what is queued; a mark runs when playback reaches it (the frame before
    // it has been sent), which is how the agent knows what the caller has heard

    play(pcm: Buffer) {

        if (this.#closed || !this.#frame) {
            return;
        }

        let data = pcm;
        if (this.#pending) {
            const missing = this.#frame - this.#pending.length;
            if (data.length < missing) {
                this.#pending = Buffer.concat([this.#pending, data]);
                return;
            }

            this.#queue.push({ pcm: Buffer.concat([this.#pending, data.subarray(0, missing)]), at: 0 });
            this.#pending = null;
            data = data.subarray(missing);
        }

        const whole = data.length - data.length % this.#frame;
        if (whole) {
            this.#queue.push({ pcm: data.subarray(0, whole), at: 0 });
        }

        this.#pending = whole < data.length ? Buffer.from(data.subarray(whole)) : null;
        this.#start();
    }

    mark(mark: Mark) {

        this.flush();
        this.#queue.push(mark);
        this.#start();
    }

    // The last partial frame, padded with silence: the end of something said

    flush() {

        if (this.#pending) {
            const frame = Buffer.alloc(this.#frame);
            this.#pending.copy(frame);
            this.#queue.push({ pcm: frame, at: 0 });
            this.#pending = null;
            this.#start();
        }
    }

    get playing() {

        return this.#queue.some(isChunk);
    }

    // Barge-in: nothing more of ours is played, here or in Vonage's buffer

    clear() {

        this.#queue = this.#queue.filter((item) => !isChunk(item));
        this.#pending = null;
        this.#send(JSON.stringify({ action: 'clear' }));
        if (this.#due !== null) {
            this.#pump(performance.now());        // the marks left run now
        }
    }

    notify(payload: unknown) {

        this.#send(JSON.stringify({ action: 'notify', payload }));
    }

    close(code = 1000, reason = '') {

        if (!this.#closed) {
            this.ws.close(code, reason.slice(0, 120));              // a close reason holds 123 bytes
            this.#close();
        }
    }

    // Audio after a pause starts now, and the pacer keeps it going

    #start() {

        if (this.#due === null && this.#queue.length && !this.#closed) {
            this.#due = performance.now();
            if (this.#pump(this.#due)) {
                this.pacer.wake(this.#paced);
            }
        }
    }

    #pump(now: number) {

        for (;;) {
            while (this.#queue.length && !isChunk(this.#queue[0]!)) {
                (this.#queue.shift() as Mark)();
            }

            if (!this.#queue.length || this.#closed) {
                this.#due = null;
                return false;
            }

            if (this.#due! > now) {
                return true;
            }

            const chunk = this.#queue[0] as Chunk;
            const frame = chunk.pcm.subarray(chunk.at, chunk.at + this.#frame);
            this.#send(frame);
            this.events.sent(frame);
            chunk.at += this.#frame;
            if (chunk.at >= chunk.pcm.length) {
                this.#queue.shift();
            }

            ++this.framesOut;
            const late = performance.now() - this.#due!;
            this.pacer.lateness.add(late);
            this.#due = late > 3 * frameMs ? performance.now() + frameMs : this.#due! + frameMs;    // after a stall, go on from now rather than burst
        }
    }

    #send(data: Buffer | string) {

        if (!this.#closed && this.ws.readyState === this.ws.OPEN) {
            this.ws.send(data);
        }
    }

    #text(text: string) {

        let message: { event?: unknown; 'content-type'?: unknown; digit?: unknown; duration?: unknown; payload?: unknown };
        try {
            message = JSON.parse(text);
        }
        catch {
            return this.#refuse('Text frames must be JSON');
        }

        if (typeof message !== 'object' || message === null) {
            return this.#refuse('Text frames must be JSON objects');
        }

        if (!this.#frame) {
            if (message.event !== 'websocket:connected') {
                return this.#refuse('The first frame must be websocket:connected');
            }

            const rate = Number(/rate=(\d+)/.exec(String(message['content-type'] ?? ''))?.[1]);
            if (!/^audio\/l16\b/i.test(String(message['content-type'] ?? '')) || !sampleRates.includes(rate)) {
                return this.#refuse(`Unsupported audio: ${String(message['content-type'])} (audio/l16 at 8000, 16000 or 24000 Hz)`);
            }

            this.sampleRate = rate;
            this.#frame = bytesPerFrame(rate);
            const { event, 'content-type': contentType, ...headers } = message;
            this.events.connected({ sampleRate: rate, headers });
            return;
        }

        switch (message.event) {
            case 'websocket:dtmf':
                if (typeof message.digit === 'string' && /^[0-9*#A-D]$/i.test(message.digit)) {
                    this.events.dtmf(message.digit.toUpperCase(), typeof message.duration === 'number' ? message.duration : undefined);
                }

                return;

            case 'websocket:notify':
                this.events.played(message.payload);
                return;

            default:
                return;                          // websocket:cleared and events Talky does not use
        }
    }

    // Frames come 20 ms at a time, but nothing here depends on it: audio is cut into 20 ms frames

    #audio(data: Buffer) {

        if (!this.#frame) {
            return this.#refuse('Audio before websocket:connected');
        }

        let input = this.#inbound ? Buffer.concat([this.#inbound, data]) : data;
        this.#inbound = null;
        while (input.length >= this.#frame) {
            ++this.framesIn;
            this.events.audio(input.subarray(0, this.#frame));
            input = input.subarray(this.#frame);
        }

        this.#inbound = input.length ? Buffer.from(input) : null;
    }

    #refuse(reason: string) {

        this.close(1003, reason);
    }

    #close() {

        if (!this.#closed) {
            this.#closed = true;
            this.#queue = [];
            this.pacer.remove(this.#paced);
            this.events.closed();
        }
    }
}
