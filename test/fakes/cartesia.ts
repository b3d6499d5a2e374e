import Http, { type IncomingHttpHeaders } from 'http';
import type { Duplex } from 'stream';

import { WebSocketServer, type WebSocket } from 'ws';


// A fake Cartesia TTS WebSocket on loopback, speaking its wire protocol: the key in X-API-Key and
// a Cartesia-Version header (401 otherwise), JSON requests per context, base64 PCM chunks, done
// and error messages back. What it says is made up but exact (see speech), so a test knows to the
// byte what a turn must play. The machinery of a fake speech service is here too, for ElevenLabs'.


// The speech of a text: 2 ms per character of a pattern that follows the characters

export const speech = (text: string, sampleRate: number) => {

    const perCharacter = Math.max(1, Math.round(sampleRate / 500));
    const pcm = Buffer.alloc(text.length * perCharacter * 2);
    for (let i = 0; i < text.length; ++i) {
        for (let j = 0; j < perCharacter; ++j) {
            pcm.writeInt16LE((text.charCodeAt(i) * 251 + j * 97) % 16384 - 8192, (i * perCharacter + j) * 2);
        }
    }

    return pcm;
};


// Pieces of odd length: a stream cut anywhere cuts samples in half

const split = (pcm: Buffer, count: number) => {

    const size = Math.ceil(pcm.length / count) | 1;
    const pieces: Buffer[] = [];
    for (let i = 0; i < pcm.length; i += size) {
        pieces.push(pcm.subarray(i, i + size));
    }

    return pieces;
};


export interface Script {
    chunks: number;                              // pieces each speech is sent in
    hold: boolean;                               // after a speech's first piece the rest waits for release()
    error: string | null;                        // the next speech is refused with this error instead
    drop: boolean;                               // the next speech sends one piece, then the connection drops
}

export interface Received {
    connection: number;
    message: Record<string, any>;
}

type Outgoing = object | 'hold' | 'drop';

export interface Peer {
    index: number;
    url: URL;
    headers: IncomingHttpHeaders;
    socket: WebSocket;
    closed: Promise<{ code: number; reason: string }>;
    lanes: Map<string, Outgoing[]>;             // what is waiting to be sent, per context
    held: boolean;
    ended: Set<string>;                          // contexts cancelled, failed or done: nothing new is made for them
    texts: Map<string, string>;                  // text buffered per open context (ElevenLabs)
    flushed: Set<string>;                        // contexts told to flush (ElevenLabs)
}


export abstract class FakeSpeechService {

    readonly peers: Peer[] = [];
    readonly received: Received[] = [];
    readonly made = new Map<string, Buffer[]>();                 // each context's speech, in the order made
    readonly script: Script = { chunks: 3, hold: false, error: null, drop: false };
    refused = 0;
    url = '';

    #server = Http.createServer((request, response) => response.writeHead(426).end());
    #wss = new WebSocketServer({ noServer: true });
    #waiters: { match: (message: Record<string, any>) => boolean; resolve: (message: Record<string, any>) => void }[] = [];

    constructor(readonly apiKey: string) { }

    // A refusal of the handshake as [status, body], or null to accept it

    protected abstract check(request: Http.IncomingMessage, url: URL): [number, string] | null;

    protected abstract receive(peer: Peer, message: Record<string, any>): void;

    protected abstract chunk(context: string, audio: string): object;

    protected abstract failure(context: string, text: string): object;

    async start(path: string) {

        this.#server.on('upgrade', (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => {

            const url = new URL(request.url!, 'http://fake');
            const refusal = this.check(request, url);
            if (refusal) {
                this.refused += 1;
                const [status, body] = refusal;
                socket.end(`HTTP/1.1 ${status} ${Http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
                return;
            }

            this.#wss.handleUpgrade(request, socket, head, (ws) => this.#accept(ws, request, url));
        });

        await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
        this.url = `ws://127.0.0.1:${(this.#server.address() as { port: number }).port}${path}`;
    }

    // The messages received for a context, in order

    messages(context: string) {

        return this.received.map(({ message }) => message).filter((message) => message.context_id === context);
    }

    // The first message received (or to come) that matches

    waitFor(match: (message: Record<string, any>) => boolean) {

        const found = this.received.find(({ message }) => match(message));
        if (found) {
            return Promise.resolve(found.message);
        }

        return new Promise<Record<string, any>>((resolve) => this.#waiters.push({ match, resolve }));
    }

    // Sends what was held back: for a cancelled context, these are the chunks already on their way

    release() {

        this.script.hold = false;
        for (const peer of this.peers) {
            peer.held = false;
            this.#flush(peer);
        }
    }

    // For tests that script by hand: any message to every connection

    send(message: object | string) {

        for (const peer of this.peers) {
            peer.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
        }
    }

    // What the service does to a socket left idle

    async closeIdle() {

        const open = this.peers.filter((peer) => peer.socket.readyState === peer.socket.OPEN);
        open.forEach((peer) => peer.socket.close(1000, 'idle timeout'));
        await Promise.all(open.map((peer) => peer.closed));
    }

    async close() {

        this.peers.forEach((peer) => peer.socket.terminate());
        await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    }

    // Makes the speech of a text for a context and sends it in pieces, or what the script says instead

    protected speak(peer: Peer, context: string, text: string, sampleRate: number) {

        if (this.script.error) {
            peer.ended.add(context);
            this.post(peer, context, [this.failure(context, this.script.error)]);
            this.script.error = null;
            return;
        }

        const pcm = speech(text, sampleRate);
        this.made.set(context, [...(this.made.get(context) ?? []), pcm]);

        const [first, ...rest] = split(pcm, this.script.chunks).map((piece) => this.chunk(context, piece.toString('base64')));
        if (this.script.drop) {
            this.script.drop = false;
            this.post(peer, context, [first, 'drop']);
            return;
        }

        this.post(peer, context, [first, ...(this.script.hold ? ['hold' as const] : []), ...rest]);
    }

    // Queues messages for a context. Contexts take turns, a message each, as a service speaking
    // for several at once does; each context's own messages keep their order.

    protected post(peer: Peer, context: string, messages: Outgoing[]) {

        peer.lanes.set(context, [...(peer.lanes.get(context) ?? []), ...messages]);
        this.#flush(peer);
    }

    #flush(peer: Peer) {

        while (!peer.held && peer.lanes.size) {
            for (const [context, lane] of peer.lanes) {
                const next = lane.shift()!;
                if (!lane.length) {
                    peer.lanes.delete(context);
                }

                if (next === 'hold') {
                    peer.held = this.script.hold;
                }
                else if (next === 'drop') {
                    peer.lanes.clear();
                    peer.socket.terminate();
                }
                else if (peer.socket.readyState === peer.socket.OPEN) {
                    peer.socket.send(JSON.stringify(next));
                }

                if (peer.held || !peer.lanes.size) {
                    break;
                }
            }
        }
    }

    #accept(socket: WebSocket, request: Http.IncomingMessage, url: URL) {

        const peer: Peer = {
            index: this.peers.length,
            url,
            headers: request.headers,
            socket,
            closed: new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
            lanes: new Map(),
            held: false,
            ended: new Set(),
            texts: new Map(),
            flushed: new Set()
        };

        this.peers.push(peer);
        socket.on('message', (data: Buffer) => {

            const message = JSON.parse(data.toString());
            this.received.push({ connection: peer.index, message });
            this.#waiters.filter((waiter) => waiter.match(message)).forEach((waiter) => {

                this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
                waiter.resolve(message);
            });

            this.receive(peer, message);
        });
    }
}


// Cartesia: every message of a context carries its settings; an empty transcript with continue:
// false ends it (done comes after its audio); cancel stops it

class FakeCartesia extends FakeSpeechService {

    protected check(request: Http.IncomingMessage, url: URL): [number, string] | null {

        if (url.pathname !== '/tts/websocket') {
            return [404, JSON.stringify({ error: 'Not found' })];
        }

        if (request.headers['x-api-key'] !== this.apiKey || !request.headers['cartesia-version']) {
            return [401, JSON.stringify({ error: 'Invalid API key' })];
        }

        return null;
    }

    protected receive(peer: Peer, message: Record<string, any>) {

        const context = message.context_id;
        if (message.cancel === true) {
            peer.ended.add(context);
            return;
        }

        if (peer.ended.has(context)) {
            return;
        }

        const format = message.output_format;
        if (!message.model_id || message.voice?.mode !== 'id' || !message.voice.id || format?.container !== 'raw' || format.encoding !== 'pcm_s16le' || typeof message.transcript !== 'string') {
            peer.ended.add(context);
            this.post(peer, context, [{ type: 'error', context_id: context, status_code: 400, error_code: 'invalid_request', message: 'Invalid request', done: true }]);
            return;
        }

        if (message.transcript) {
            this.speak(peer, context, message.transcript, format.sample_rate);
        }

        if (message.continue === false && !peer.ended.has(context)) {
            peer.ended.add(context);
            this.post(peer, context, [{ type: 'done', context_id: context, status_code: 206, done: true }]);
        }
    }

    protected chunk(context: string, audio: string) {

        return { type: 'chunk', data: audio, done: false, status_code: 206, step_time: 12.5, context_id: context };
    }

    protected failure(context: string, text: string) {

        return { type: 'error', context_id: context, status_code: 500, error_code: 'generation_failed', message: text, done: true };
    }
}


export const startCartesia = async (apiKey = 'test-cartesia-key') => {

    const fake = new FakeCartesia(apiKey);
    await fake.start('/tts/websocket');
    return fake;
};
