import type { ClientRequest, IncomingMessage } from 'http';

import WebSocket, { type RawData } from 'ws';

import { Resampler } from './audio';
import type { TtsTurn } from './slots';


// A speech service's WebSocket shared by every call's turns, each turn a context of its own on
// it, so a turn costs no handshake. Cartesia and ElevenLabs (multi-context) both work this way;
// what differs is the shape of their messages, which each adapter reads into these events.

export type ServiceEvent =
    | { type: 'audio'; context?: string; pcm: Buffer }
    | { type: 'done'; context?: string }
    | { type: 'error'; context?: string; message: string };             // no context: every turn on the socket fails

export interface ServiceOptions {
    name: string;                                // the service, as errors name it
    url: string;
    headers: Record<string, string>;
    maxContexts?: number;                        // a socket carries no more at once; another one opens beyond
    read(message: Record<string, unknown>): ServiceEvent[];
}

export interface ContextOptions {
    signal: AbortSignal;
    serviceRate: number;                         // the rate the service was asked to speak at
    sampleRate: number;                          // the call's
    cancel: object;                              // what stops the context at the service
}


// An error message's fields, whichever of them the service filled in

export const describeError = (name: string, message: Record<string, unknown>) => {

    const parts = ['message', 'error', 'error_code', 'code', 'status_code'].map((key) => message[key]).filter((value) => ['string', 'number'].includes(typeof value));
    return `${name} error: ${parts.join(', ')}`;
};


// A turn over before it began: no voice to speak with, or a signal aborted already

export const finishedTurn = (error?: Error): TtsTurn => ({
    say() { },
    end() { },
    audio: (async function* () {

        if (error) {
            throw error;
        }
    })()
});


export class ContextSocket {

    #connections: Connection[] = [];

    constructor(private readonly options: ServiceOptions) { }

    // Opens the context on a socket that has room for it, opening one if none has

    open(id: string, options: ContextOptions) {

        this.#connections = this.#connections.filter((connection) => connection.usable);
        const max = this.options.maxContexts ?? Infinity;
        let connection = this.#connections.find((candidate) => candidate.contexts.size < max);
        if (!connection) {
            connection = new Connection(this.options);
            this.#connections.push(connection);
        }

        const context = new Context(id, connection, options);
        connection.contexts.set(id, context);
        return context;
    }

    async close() {

        const connections = this.#connections;
        this.#connections = [];
        await Promise.all(connections.map((connection) => connection.close()));
    }
}


class Connection {

    readonly contexts = new Map<string | undefined, Context>();

    #socket: WebSocket;
    #pending: string[] = [];                     // sent before the handshake finished
    #failure: Error | null = null;

    constructor(private readonly options: ServiceOptions) {

        const socket = new WebSocket(options.url, { headers: options.headers, handshakeTimeout: 10_000 });
        this.#socket = socket;

        socket.on('open', () => {

            this.#pending.forEach((text) => socket.send(text));
            this.#pending = [];
        });

        // A refused handshake says why in its status (401: a bad key) and its body

        socket.once('unexpected-response', (request: ClientRequest, response: IncomingMessage) => {

            const body: Buffer[] = [];
            response.on('data', (chunk: Buffer) => body.push(chunk));
            response.on('end', () => {

                const detail = Buffer.concat(body).toString().trim().slice(0, 200);
                this.#failure = new Error(`${options.name} refused the connection: ${[`HTTP ${response.statusCode} ${response.statusMessage}`, detail].filter(Boolean).join(': ')}`);
                socket.terminate();
            });
        });

        socket.on('error', (err) => {

            this.#failure ??= new Error(`${options.name} connection failed: ${err.message}`);
        });

        socket.on('close', (code, reason) => {

            const error = this.#failure ?? new Error(`${options.name} closed the connection mid-turn (code ${code}${reason.length ? `: ${reason}` : ''})`);
            [...this.contexts.values()].forEach((context) => context.finish(error));
        });

        socket.on('message', (data) => this.#receive(data));
    }

    get usable() {

        return this.#socket.readyState === WebSocket.CONNECTING || this.#socket.readyState === WebSocket.OPEN;
    }

    send(message: object) {

        const text = JSON.stringify(message);
        if (this.#socket.readyState === WebSocket.CONNECTING) {
            this.#pending.push(text);
            return;
        }

        this.#socket.send(text);                 // once closing, ws drops it, and the close fails the turn
    }

    close() {

        if (this.#socket.readyState === WebSocket.CLOSED) {
            return Promise.resolve();
        }

        this.#failure = new Error(`${this.options.name} connection was closed at shutdown`);
        return new Promise<void>((resolve) => {

            this.#socket.once('close', () => resolve());
            this.#socket.close(1000);
        });
    }

    // Audio of a context no longer here (a cancelled turn's late chunks) is dropped

    #receive(data: RawData) {

        const message = parse(data.toString());
        for (const event of message ? this.options.read(message) : []) {
            if (event.type === 'error' && event.context === undefined) {
                [...this.contexts.values()].forEach((context) => context.finish(new Error(event.message)));
            }
            else {
                this.contexts.get(event.context)?.receive(event);
            }
        }
    }
}


const parse = (text: string) => {

    try {
        const value = JSON.parse(text);
        return typeof value === 'object' ? value as Record<string, unknown> | null : null;
    }
    catch {
        return null;                             // not JSON: nothing the service meant to say
    }
};


// One turn's context: its audio queued until read, resampled to the call's rate

class Context {

    readonly audio: AsyncGenerator<Buffer>;

    #chunks: Buffer[] = [];
    #end: { error?: Error } | null = null;
    #wake: (() => void) | null = null;
    #resampler: Resampler;

    constructor(readonly id: string, private readonly connection: Connection, private readonly options: ContextOptions) {

        this.#resampler = new Resampler(options.serviceRate, options.sampleRate);
        this.audio = this.#read();
        options.signal.addEventListener('abort', this.#abort);
    }

    send(message: object) {

        if (!this.#end) {
            this.connection.send(message);
        }
    }

    receive(event: ServiceEvent) {

        if (event.type === 'audio') {
            const pcm = this.#resampler.push(event.pcm);
            if (pcm.length) {
                this.#chunks.push(pcm);
                this.#wake?.();
            }
        }
        else {
            this.finish(event.type === 'error' ? new Error(event.message) : undefined);
        }
    }

    finish(error?: Error) {

        this.#end = { error };
        this.connection.contexts.delete(this.id);
        this.options.signal.removeEventListener('abort', this.#abort);
        this.#wake?.();
    }

    // Barge-in or hang-up: the service stops, and what it already sent is not played

    #abort = () => {

        this.connection.send(this.options.cancel);
        this.#chunks = [];
        this.finish();
    };

    async *#read() {

        try {
            for (;;) {
                const chunk = this.#chunks.shift();
                if (chunk) {
                    yield chunk;
                    continue;
                }

                if (this.#end) {
                    if (this.#end.error) {
                        throw this.#end.error;
                    }

                    return;
                }

                await new Promise<void>((resolve) => (this.#wake = resolve));
                this.#wake = null;
            }
        }
        finally {

            // A reader that stops early wants no more of it

            if (!this.#end) {
                this.#abort();
            }
        }
    }
}
