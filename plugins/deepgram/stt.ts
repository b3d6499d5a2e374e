import WebSocket from 'ws';

import type { Stt, SttOptions, SttSession, Transcript } from '../voice/slots';


// Deepgram live transcription: one WebSocket per call, the caller's PCM sent as binary frames at
// the call's own rate (linear16 takes any rate, so nothing is resampled), JSON results back.

export interface DeepgramOptions {
    url: string;                                 // wss://api.deepgram.com/v1/listen
    apiKey: string;
    model: string;
    keepAliveMs?: number;                        // silence before a KeepAlive: Deepgram hangs up after 10 s of nothing
    openTimeoutMs?: number;                      // a handshake slower than this fails open()
    closeTimeoutMs?: number;                     // how long close() waits for Deepgram's last results
}


const maxHints = 100;                            // Deepgram's limit of key terms; more is a 400


// The listen address of one session. Hints become nova-3's key terms (keyterm=, one per phrase);
// older models only know keywords= (single words, boosted).

export const listenUrl = (options: DeepgramOptions, session: Pick<SttOptions, 'sampleRate' | 'language' | 'hints'>) => {

    const url = new URL(options.url);
    const query = url.searchParams;
    query.set('model', options.model);
    query.set('encoding', 'linear16');
    query.set('sample_rate', String(session.sampleRate));
    query.set('channels', '1');
    query.set('interim_results', 'true');
    query.set('endpointing', '300');
    query.set('utterance_end_ms', '1000');
    query.set('vad_events', 'true');

    if (session.language) {
        query.set('language', session.language);
    }

    const hint = options.model.startsWith('nova-3') ? 'keyterm' : 'keywords';
    for (const phrase of (session.hints ?? []).map((text) => text.trim()).filter(Boolean).slice(0, maxHints)) {
        query.append(hint, phrase);
    }

    return url.toString();
};


export const deepgramStt = (options: DeepgramOptions): Stt => ({

    open(session) {

        return new Promise((resolve, reject) => {

            const socket = new WebSocket(listenUrl(options, session), {
                headers: { Authorization: `Token ${options.apiKey}` },
                handshakeTimeout: options.openTimeoutMs ?? 10_000
            });

            // A refused handshake says why in its status and dg-error header (401: a bad key)

            let refusal: Error | undefined;
            socket.once('unexpected-response', (request, response) => {

                const reason = response.headers['dg-error'];
                refusal = new Error(`Deepgram refused the connection: HTTP ${response.statusCode}${reason ? ` (${reason})` : ''}`);
                socket.terminate();
            });

            const failed = (err: Error) => reject(refusal ?? new Error(`Deepgram connection failed: ${err.message}`));
            socket.on('error', failed);
            socket.once('open', () => {

                socket.off('error', failed);
                resolve(new DeepgramSession(socket, session, options));
            });
        });
    }
});


// What Deepgram sends: Results, UtteranceEnd, SpeechStarted, Metadata. Any field may be missing
// from a message that is not what it claims to be.

interface Message {
    type?: unknown;
    is_final?: unknown;
    speech_final?: unknown;
    from_finalize?: unknown;
    start?: unknown;
    duration?: unknown;
    last_word_end?: unknown;
    channel?: { alternatives?: { transcript?: unknown; confidence?: unknown }[] };
}


const ms = (seconds: number) => Math.round(seconds * 1000);


class DeepgramSession implements SttSession {

    #socket: WebSocket;
    #options: SttOptions;
    #keepAlive: NodeJS.Timeout;
    #closeTimeoutMs: number;
    #closed: Promise<void>;
    #closing: Promise<void> | null = null;
    #failed = false;

    constructor(socket: WebSocket, options: SttOptions, settings: DeepgramOptions) {

        this.#socket = socket;
        this.#options = options;
        this.#closeTimeoutMs = settings.closeTimeoutMs ?? 2000;

        // Audio resets the timer: KeepAlive goes out only once the caller's audio has stopped

        this.#keepAlive = setInterval(() => this.#send({ type: 'KeepAlive' }), settings.keepAliveMs ?? 4000).unref();

        this.#closed = new Promise((resolve) => {

            socket.on('close', (code, reason) => {

                clearInterval(this.#keepAlive);
                this.#fail(`Deepgram closed the connection (${code}${reason.length ? ` ${reason}` : ''})`);
                resolve();
            });
        });

        socket.on('error', (err) => this.#fail(`Deepgram connection failed: ${err.message}`));
        socket.on('message', (data, isBinary) => {

            if (!isBinary) {
                this.#receive(data.toString());
            }
        });
    }

    write(pcm: Buffer) {

        // An empty frame would be read as the old way of closing the stream

        if (pcm.length && this.#open()) {
            this.#socket.send(pcm);
            this.#keepAlive.refresh();
        }
    }

    finalize() {

        this.#send({ type: 'Finalize' });
    }

    close() {

        this.#closing ??= this.#shut();
        return this.#closing;
    }

    async #shut() {

        clearInterval(this.#keepAlive);
        if (this.#socket.readyState !== WebSocket.OPEN) {
            this.#socket.terminate();            // lost already, or on its way out
            return;
        }

        // CloseStream asks for the last results, then Deepgram closes; one that never does is cut off

        this.#socket.send(JSON.stringify({ type: 'CloseStream' }));

        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.#closed, new Promise((resolve) => {

            timer = setTimeout(resolve, this.#closeTimeoutMs);
        })]);

        clearTimeout(timer);
        this.#socket.terminate();
    }

    #open() {

        return this.#closing === null && this.#socket.readyState === WebSocket.OPEN;
    }

    #send(message: { type: string }) {

        if (this.#open()) {
            this.#socket.send(JSON.stringify(message));
        }
    }

    // The session is lost once, whether by an error, a close, or both; a close we asked for is no loss

    #fail(problem: string) {

        if (this.#failed || this.#closing) {
            return;
        }

        this.#failed = true;
        clearInterval(this.#keepAlive);
        this.#options.onError(new Error(problem));
    }

    #receive(text: string) {

        let message: Message | null;
        try {
            message = JSON.parse(text);
        }
        catch {
            return;                              // not JSON: nothing Deepgram meant to say
        }

        if (message?.type === 'Results') {
            this.#results(message);
        }
        else if (message?.type === 'UtteranceEnd') {
            const transcript: Transcript = { text: '', final: true, endOfTurn: true };
            if (typeof message.last_word_end === 'number') {
                transcript.endMs = ms(message.last_word_end);
            }

            this.#options.onTranscript(transcript);
        }

        // SpeechStarted (barge-in comes from the local VAD, sooner) and Metadata tell nothing needed
    }

    // Interim pieces with no words are dropped. An empty final still counts when it ends the turn
    // (speech_final) or answers our Finalize, so the pipeline is never left waiting for it.

    #results(message: Message) {

        const alternative = message.channel?.alternatives?.[0];
        const text = typeof alternative?.transcript === 'string' ? alternative.transcript : '';
        const final = message.is_final === true;
        const endOfTurn = final && message.speech_final === true;

        if (!text && !endOfTurn && !(final && message.from_finalize === true)) {
            return;
        }

        const transcript: Transcript = { text, final, endOfTurn };
        if (typeof message.start === 'number' && typeof message.duration === 'number') {
            transcript.startMs = ms(message.start);
            transcript.endMs = ms(message.start + message.duration);
        }

        if (typeof alternative?.confidence === 'number') {
            transcript.confidence = alternative.confidence;
        }

        this.#options.onTranscript(transcript);
    }
}
