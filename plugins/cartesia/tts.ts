import Crypto from 'crypto';

import type { Tts, TtsOptions, TtsTurn } from '../voice/slots';
import { ContextSocket, describeError, finishedTurn, type ServiceEvent } from '../voice/contexts';


// Cartesia's TTS WebSocket: one socket for the whole process, each agent turn a context on it fed
// sentence by sentence (continue: true) and ended with an empty transcript. Cartesia speaks raw
// PCM at the rate asked, so the call's own rate is asked whenever Cartesia has it.

export interface CartesiaOptions {
    url: string;                                 // wss://api.cartesia.ai/tts/websocket
    apiKey: string;
    model: string;
    version: string;                             // the Cartesia-Version header
    voiceId?: string;                            // of campaigns that name none
}


const rates = new Set([8000, 16000, 22050, 24000, 44100, 48000]);


// chunk, done and error concern one context; timestamps and flush_done are not needed

const read = (message: Record<string, unknown>): ServiceEvent[] => {

    const context = typeof message.context_id === 'string' ? message.context_id : undefined;
    if (message.type === 'chunk') {
        return [{ type: 'audio', context, pcm: Buffer.from(String(message.data), 'base64') }];
    }

    if (message.type === 'done') {
        return [{ type: 'done', context }];
    }

    if (message.type === 'error') {
        return [{ type: 'error', context, message: describeError('Cartesia', message) }];
    }

    return [];
};


export const cartesiaTts = (options: CartesiaOptions): Tts & { close(): Promise<void> } => {

    const socket = new ContextSocket({
        name: 'Cartesia',
        url: options.url,
        headers: { 'X-API-Key': options.apiKey, 'Cartesia-Version': options.version },
        read
    });

    return {
        turn({ sampleRate, voice, language, signal }: TtsOptions): TtsTurn {

            const id = voice || options.voiceId;
            if (!id) {
                return finishedTurn(new Error('Cartesia has no voice to speak with: the campaign names none and CARTESIA_VOICE_ID is not set'));
            }

            if (signal.aborted) {
                return finishedTurn();
            }

            const serviceRate = rates.has(sampleRate) ? sampleRate : 16000;
            const contextId = `talky-${Crypto.randomUUID()}`;
            const context = socket.open(contextId, { signal, serviceRate, sampleRate, cancel: { context_id: contextId, cancel: true } });

            // Every message of a context repeats its settings; Cartesia takes ISO 639-1 languages

            const request = (transcript: string, more: boolean) => ({
                model_id: options.model,
                transcript,
                voice: { mode: 'id', id },
                context_id: contextId,
                language: language?.split('-')[0].toLowerCase(),
                output_format: { container: 'raw', encoding: 'pcm_s16le', sample_rate: serviceRate },
                continue: more
            });

            let ended = false;
            return {
                say(text) {

                    // Cartesia joins a context's transcripts as they are: sentences need their space

                    if (!ended && text.trim()) {
                        context.send(request(/\s$/.test(text) ? text : `${text} `, true));
                    }
                },
                end() {

                    if (!ended) {
                        ended = true;
                        context.send(request('', false));
                    }
                },
                audio: context.audio
            };
        },
        close: () => socket.close()
    };
};
