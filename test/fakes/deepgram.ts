import Crypto from 'crypto';
import Http, { type IncomingHttpHeaders } from 'http';
import type { Duplex } from 'stream';

import { WebSocketServer, type WebSocket } from 'ws';


// A fake Deepgram live endpoint on loopback, speaking its wire protocol: the key in an
// Authorization: Token header (401 with dg-error otherwise), PCM in binary frames, KeepAlive,
// Finalize and CloseStream as text, Results / SpeechStarted / UtteranceEnd / Metadata back.
// What the caller says is scripted: each utterance is heard word by word as its audio arrives.

export interface Utterance {
    text: string;
    bytes: number;                               // audio it spans; its words are heard evenly across it
    end?: 'speech_final' | 'utterance_end' | 'none';          // how its end shows (speech_final unless told)
}

export interface FakeDeepgramOptions {
    apiKey?: string;
    utterances?: Utterance[];                    // said in order on every connection
    handshakeDelayMs?: number;                   // a slow handshake
    replyDelayMs?: number;                       // slow answers
    garbage?: boolean;                           // a frame of broken JSON before every answer
    dropAfterBytes?: number;                     // the TCP connection is cut once this much audio came in
    ignoreCloseStream?: boolean;                 // CloseStream is recorded, and nothing more happens
}


const model = { name: 'general-nova-3', version: '2025-01-01.0', arch: 'nova-3' };

const round = (seconds: number) => Math.round(seconds * 1000) / 1000;


export class DeepgramConnection {

    readonly query: URLSearchParams;
    readonly path: string;
    readonly headers: IncomingHttpHeaders;
    readonly controls: string[] = [];            // text messages received: their type, or the text when not JSON
    readonly closed: Promise<{ code: number; reason: string }>;

    #socket: WebSocket;
    #raw: Duplex;
    #options: FakeDeepgramOptions;
    #chunks: Buffer[] = [];
    #received = 0;
    #sampleRate: number;
    #requestId = Crypto.randomUUID();

    // Where the caller is in the script: the utterance, the audio before it, the words sent of it

    #index = 0;
    #base = 0;
    #heard = 0;
    #started = false;

    constructor(socket: WebSocket, raw: Duplex, request: Http.IncomingMessage, options: FakeDeepgramOptions) {

        const url = new URL(request.url!, 'http://fake');
        this.query = url.searchParams;
        this.path = url.pathname;
        this.headers = request.headers;
        this.#socket = socket;
        this.#raw = raw;
        this.#options = options;
        this.#sampleRate = Number(this.query.get('sample_rate')) || 16000;

        this.closed = new Promise((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
        socket.on('message', (data: Buffer, isBinary) => (isBinary ? this.#audio(data) : this.#control(data.toString())));
    }

    get audio() {

        return Buffer.concat(this.#chunks);
    }

    // For tests that script by hand: any message, an unexpected close, a cut, a broken frame

    send(message: object | string | Buffer) {

        this.#socket.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
    }

    close(code: number, reason: string) {

        this.#socket.close(code, reason);
    }

    drop() {

        this.#socket.terminate();
    }

    corrupt() {

        this.#raw.write(Buffer.from([0x8f, 0x00]));          // a frame with a reserved opcode
    }

    #audio(chunk: Buffer) {

        this.#chunks.push(chunk);
        this.#received += chunk.length;

        if (this.#options.dropAfterBytes !== undefined && this.#received >= this.#options.dropAfterBytes) {
            this.drop();
            return;
        }

        this.#listen();
    }

    #control(text: string) {

        let type: string;
        try {
            type = JSON.parse(text).type;
        }
        catch {
            this.controls.push(text);
            return;
        }

        this.controls.push(type);

        if (type === 'Finalize') {
            this.#finish(true);
        }
        else if (type === 'CloseStream' && !this.#options.ignoreCloseStream) {
            if (this.#heardBytes() > 0) {
                this.#finish(false);
            }

            this.#reply({ type: 'Metadata', transaction_key: 'deprecated', request_id: this.#requestId, sha256: Crypto.createHash('sha256').update(this.audio).digest('hex'), created: new Date().toISOString(), duration: this.#seconds(this.#received), channels: 1 });
            this.#later(() => this.#socket.close(1000));
        }
    }

    // Walks the script as audio arrives: interim results as more words are heard, a final one
    // once the utterance's audio is all in

    #listen() {

        for (;;) {
            const utterance = this.#current();
            const heard = this.#heardBytes();
            if (!utterance || heard <= 0) {
                return;
            }

            if (!this.#started) {
                this.#started = true;
                this.#reply({ type: 'SpeechStarted', channel: [0], timestamp: this.#seconds(this.#base) });
            }

            if (heard < utterance.bytes) {
                const count = this.#wordCount(utterance, heard);
                if (count > this.#heard) {
                    this.#heard = count;
                    this.#results(utterance, count, heard, { is_final: false, speech_final: false, from_finalize: false });
                }

                return;
            }

            this.#finish(false);
        }
    }

    // The current utterance ends: whole, or cut where it is by Finalize (the rest is never said)

    #finish(fromFinalize: boolean) {

        const utterance = this.#current();
        if (!utterance) {
            this.#reply(this.#message([], this.#base, 0, 0, { is_final: true, speech_final: false, from_finalize: fromFinalize }));
            return;
        }

        const heard = Math.min(this.#heardBytes(), utterance.bytes);
        const whole = heard === utterance.bytes;
        const end = utterance.end ?? 'speech_final';
        const count = whole ? this.#words(utterance).length : this.#wordCount(utterance, heard);

        this.#results(utterance, count, heard, { is_final: true, speech_final: whole && end === 'speech_final', from_finalize: fromFinalize });
        if (whole && end === 'utterance_end') {
            this.#reply({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: this.#seconds(this.#base + heard) });
        }

        this.#index += 1;
        this.#base += heard;
        this.#heard = 0;
        this.#started = false;
    }

    #current(): Utterance | undefined {

        return this.#options.utterances?.[this.#index];
    }

    #heardBytes() {

        return this.#received - this.#base;
    }

    #words(utterance: Utterance) {

        return utterance.text.split(/\s+/).filter(Boolean);
    }

    #wordCount(utterance: Utterance, heard: number) {

        return Math.floor(this.#words(utterance).length * heard / utterance.bytes);
    }

    #seconds(bytes: number) {

        return round(bytes / 2 / this.#sampleRate);
    }

    #results(utterance: Utterance, count: number, heard: number, flags: Record<string, boolean>) {

        const words = this.#words(utterance);
        this.#reply(this.#message(words.slice(0, count), this.#base, heard, this.#seconds(utterance.bytes) / words.length, flags));
    }

    #message(words: string[], base: number, heard: number, wordSeconds: number, flags: Record<string, boolean>) {

        const start = this.#seconds(base);
        return {
            type: 'Results',
            channel_index: [0, 1],
            duration: this.#seconds(heard),
            start,
            ...flags,
            channel: {
                alternatives: [{
                    transcript: words.join(' '),
                    confidence: words.length ? 0.98 : 0,
                    words: words.map((word, i) => ({
                        word: word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
                        start: round(start + i * wordSeconds),
                        end: round(start + (i + 1) * wordSeconds),
                        confidence: 0.98,
                        punctuated_word: word
                    }))
                }]
            },
            metadata: { request_id: this.#requestId, model_info: model, model_uuid: '00000000-0000-4000-8000-000000000003' }
        };
    }

    #reply(message: object) {

        this.#later(() => {

            if (this.#options.garbage) {
                this.send('{"type":"Results","channel":');
            }

            this.send(message);
        });
    }

    // Answers keep their order whether or not they are slowed down

    #later(action: () => void) {

        const act = () => {

            if (this.#socket.readyState === this.#socket.OPEN) {
                action();
            }
        };

        if (this.#options.replyDelayMs) {
            setTimeout(act, this.#options.replyDelayMs);
        }
        else {
            act();
        }
    }
}


export const startDeepgram = async (options: FakeDeepgramOptions = {}) => {

    const apiKey = options.apiKey ?? 'test-deepgram-key';
    const connections: DeepgramConnection[] = [];
    const pending = new Set<Duplex>();
    const wss = new WebSocketServer({ noServer: true });
    const server = Http.createServer((request, response) => response.writeHead(426).end());
    const state = { refused: 0 };

    // Deepgram names what is wrong with the handshake in a dg-error header, and in the body

    const refuse = (socket: Duplex, status: number, message: string) => {

        state.refused += 1;
        const requestId = Crypto.randomUUID();
        const body = JSON.stringify({ err_code: 'INVALID_AUTH', err_msg: message, request_id: requestId });
        socket.end(`HTTP/1.1 ${status} ${Http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\ndg-error: ${message}\r\ndg-request-id: ${requestId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };

    server.on('upgrade', (request: Http.IncomingMessage, socket: Duplex, head: Buffer) => {

        pending.add(socket);
        setTimeout(() => {

            pending.delete(socket);
            if (socket.destroyed) {
                return;
            }

            if (new URL(request.url!, 'http://fake').pathname !== '/v1/listen') {
                state.refused += 1;
                socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
                return;
            }

            if (request.headers.authorization !== `Token ${apiKey}`) {
                refuse(socket, 401, 'Invalid credentials.');
                return;
            }

            wss.handleUpgrade(request, socket, head, (ws) => connections.push(new DeepgramConnection(ws, socket, request, options)));
        }, options.handshakeDelayMs ?? 0);
    });

    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;

    return {
        url: `ws://127.0.0.1:${port}/v1/listen`,
        apiKey,
        connections,
        get refused() {

            return state.refused;
        },
        close: async () => {

            pending.forEach((socket) => socket.destroy());
            wss.clients.forEach((socket) => socket.terminate());
            await new Promise<void>((resolve) => server.close(() => resolve()));
        }
    };
};
