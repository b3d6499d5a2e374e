import { EventEmitter } from 'events';

import WebSocket from 'ws';


// The audio socket of one answered call, with the simulator as the client, as Vonage is: a text
// frame announcing the call, then 20 ms frames of 16-bit PCM both ways. The agent's frames are
// queued and played back at real time (scaled); clear drops what is queued, notify is echoed
// once everything queued before it has played. The caller's side is silence unless something
// is given to say (speech, as PCM at the call's rate) or keys to press.
//
// Events: 'audio' (a frame of the agent's, as it arrives), 'clear', 'close'.

export interface VoiceEndpoint {
    uri: string;
    contentType?: string;
    headers?: Record<string, unknown>;
}

export interface VoiceStats {
    framesSent: number;
    framesReceived: number;
    framesPlayed: number;
    clears: number;
    notifies: number;
}


const frameMs = 20;
const maxQueued = 3072;                                  // about what Vonage buffers
const maxFramesPerTick = 50;


const frameBytes = (contentType: string) => {

    const rate = Number(/rate=(\d+)/.exec(contentType)?.[1] ?? 16000);
    return rate / 1000 * frameMs * 2;
};


type Queued = { audio: true } | { notify: unknown };


export class VoiceLeg extends EventEmitter {

    readonly stats: VoiceStats = { framesSent: 0, framesReceived: 0, framesPlayed: 0, clears: 0, notifies: 0 };
    readonly closed: Promise<{ byAgent: boolean }>;

    readonly opened: Promise<void>;

    private readonly socket: WebSocket;
    private readonly silence: Buffer;
    private speech: Buffer[] = [];
    private readonly queue: Queued[] = [];
    private ticker?: NodeJS.Timeout;
    private closing = false;

    constructor(endpoint: VoiceEndpoint, private readonly timeScale: number) {

        super();
        const contentType = endpoint.contentType ?? 'audio/l16;rate=16000';
        this.silence = Buffer.alloc(frameBytes(contentType));
        this.socket = new WebSocket(endpoint.uri);

        this.closed = new Promise((resolve) => {

            this.socket.on('close', (code) => {

                clearInterval(this.ticker);
                resolve({ byAgent: !this.closing });
                this.emit('close', code);
            });
        });

        this.socket.on('error', () => undefined);                    // a refused socket closes too
        this.opened = new Promise((resolve) => {

            this.socket.on('open', () => {

                this.send(JSON.stringify({ event: 'websocket:connected', 'content-type': contentType, ...endpoint.headers }));
                this.stream();
                resolve();
            });
        });

        this.socket.on('message', (data: Buffer, isBinary) => (isBinary ? this.receive(data) : this.command(data.toString())));
    }

    // The caller speaks: frames of this audio go out instead of silence, after what is queued

    say(pcm: Buffer) {

        for (let i = 0; i < pcm.length; i += this.silence.length) {
            const frame = Buffer.alloc(this.silence.length);
            pcm.copy(frame, 0, i, Math.min(pcm.length, i + this.silence.length));
            this.speech.push(frame);
        }
    }

    get saying() {

        return this.speech.length > 0;
    }

    press(digit: string, durationMs = 200) {

        this.send(JSON.stringify({ event: 'websocket:dtmf', digit, duration: durationMs }));
    }

    close() {

        this.closing = true;
        clearInterval(this.ticker);
        this.socket.close(1000);
    }

    // Frames are due by the clock: a timer cannot tick every 20 µs at a small time scale, so each
    // tick sends (and plays) every frame that has fallen due since the last one

    private stream() {

        const period = frameMs * this.timeScale;
        const started = Date.now();
        let due = 0;

        this.ticker = setInterval(() => {

            const target = Math.floor((Date.now() - started) / period);
            const count = Math.min(target - due, maxFramesPerTick);
            due += count;
            for (let i = 0; i < count; ++i) {
                this.send(this.speech.shift() ?? this.silence);
                ++this.stats.framesSent;
                this.play();
            }

            this.flushNotifies();
        }, Math.max(1, period));
    }

    private play() {

        this.flushNotifies();
        if (this.queue.shift()) {
            ++this.stats.framesPlayed;
        }
    }

    private flushNotifies() {

        while (this.queue[0] && 'notify' in this.queue[0]) {
            const { notify } = this.queue.shift() as { notify: unknown };
            ++this.stats.notifies;
            this.send(JSON.stringify({ event: 'websocket:notify', payload: notify }));
        }
    }

    private receive(frame: Buffer) {

        ++this.stats.framesReceived;
        this.emit('audio', frame);
        if (this.queue.length < maxQueued) {
            this.queue.push({ audio: true });
        }
    }

    private command(text: string) {

        let message: { action?: string; payload?: unknown };
        try {
            message = JSON.parse(text);
        }
        catch {
            return;
        }

        if (message.action === 'clear') {
            const kept = this.queue.filter((item) => 'notify' in item);
            this.queue.splice(0, this.queue.length, ...kept);
            ++this.stats.clears;
            this.send(JSON.stringify({ event: 'websocket:cleared' }));
            this.emit('clear');
        }
        else if (message.action === 'notify') {
            this.queue.push({ notify: message.payload ?? {} });
        }
    }

    private send(data: string | Buffer) {

        if (this.socket.readyState === WebSocket.OPEN) {
            this.socket.send(data);
        }
    }
}
