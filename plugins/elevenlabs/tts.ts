import Crypto from 'crypto';

import { ContextSocket, describeError, finishedTurn, type ServiceEvent } from '../voice/contexts';
import type { Tts, TtsOptions, TtsTurn } from '../voice/slots';


// ElevenLabs' multi-context WebSocket: the voice, model and output format are the socket's, so
// there is one socket per voice (and rate) for the whole process, each agent turn a context on
// it. A context opens with a single space, takes text, and ends with a flush then close_context;
// close_context alone is the barge-in. ElevenLabs allows five contexts on a socket at once.

export interface ElevenLabsOptions {
    url: string;                                 // wss://api.elevenlabs.io
    apiKey: string;
    model: string;
    voiceId?: string;                            // of campaigns that name none
}


const rates = new Set([8000, 16000, 22050, 24000]);

const maxContexts = 5;

const inactivitySeconds = 180;                   // the longest ElevenLabs keeps an idle socket


// The server spells it contextId; context_id is taken too

const read = (message: Record<string, unknown>): ServiceEvent[] => {

    const context = [message.contextId, message.context_id].find((value) => typeof value === 'string') as string | undefined;
    const events: ServiceEvent[] = [];
    if (typeof message.audio === 'string') {
        events.push({ type: 'audio', context, pcm: Buffer.from(message.audio, 'base64') });
    }

    if (message.isFinal === true) {
        events.push({ type: 'done', context });
    }

    if (typeof message.error === 'string') {
        events.push({ type: 'error', context, message: describeError('ElevenLabs', message) });
    }

    return events;
};


export const elevenlabsTts = (options: ElevenLabsOptions): Tts & { close(): Promise<void> } => {

    const sockets = new Map<string, ContextSocket>();

    const socketFor = (voice: string, rate: number) => {

        const key = `${voice}/${rate}`;
        let socket = sockets.get(key);
        if (!socket) {
            const query = new URLSearchParams({ model_id: options.model, output_format: `pcm_${rate}`, inactivity_timeout: String(inactivitySeconds) });
            socket = new ContextSocket({
                name: 'ElevenLabs',
                url: `${options.url.replace(/\/+$/, '')}/v1/text-to-speech/${encodeURIComponent(voice)}/multi-stream-input?${query}`,
                headers: { 'xi-api-key': options.apiKey },
                maxContexts,
                read
            });

            sockets.set(key, socket);
        }

        return socket;
    };

    return {
        turn({ sampleRate, voice, signal }: TtsOptions): TtsTurn {

            const id = voice || options.voiceId;
            if (!id) {
                return finishedTurn(new Error('ElevenLabs has no voice to speak with: the campaign names none and ELEVENLABS_VOICE_ID is not set'));
            }

            if (signal.aborted) {
                return finishedTurn();
            }

            const serviceRate = rates.has(sampleRate) ? sampleRate : 16000;
            const contextId = `talky-${Crypto.randomUUID()}`;
            const context = socketFor(id, serviceRate).open(contextId, { signal, serviceRate, sampleRate, cancel: { context_id: contextId, close_context: true } });
            context.send({ text: ' ', context_id: contextId });

            let ended = false;
            return {
                say(text) {

                    // ElevenLabs wants each piece of text to end with a space

                    if (!ended && text.trim()) {
                        context.send({ text: /\s$/.test(text) ? text : `${text} `, context_id: contextId });
                    }
                },
                end() {

                    // A close after a flush finishes flushing first, then says isFinal

                    if (!ended) {
                        ended = true;
                        context.send({ context_id: contextId, text: '', flush: true });
                        context.send({ context_id: contextId, close_context: true });
                    }
                },
                audio: context.audio
            };
        },
        close: async () => {

            const all = [...sockets.values()];
            sockets.clear();
            await Promise.all(all.map((socket) => socket.close()));
        }
    };
};
