import type Http from 'http';

import { FakeSpeechService, type Peer } from './cartesia';


// A fake ElevenLabs multi-context TTS WebSocket on loopback, speaking its wire protocol: the key
// in xi-api-key (401 otherwise), the voice in the path, model and PCM format in the query. A
// context opens with its first text; text is buffered and spoken once enough has come (as the
// service's chunk schedule does) or on flush; close_context after a flush ends with isFinal,
// close_context alone cancels. Five contexts at once on a socket is the most it takes.

const pathPattern = /^\/v1\/text-to-speech\/([^/]+)\/multi-stream-input$/;

const maxContexts = 5;


class FakeElevenLabs extends FakeSpeechService {

    schedule = 120;                              // characters buffered before the service speaks them unasked

    voice(peer: Peer) {

        return decodeURIComponent(pathPattern.exec(peer.url.pathname)![1]);
    }

    protected check(request: Http.IncomingMessage, url: URL): [number, string] | null {

        if (!pathPattern.test(url.pathname)) {
            return [404, JSON.stringify({ detail: 'Not Found' })];
        }

        if (request.headers['xi-api-key'] !== this.apiKey) {
            return [401, JSON.stringify({ detail: { status: 'invalid_api_key', message: 'Invalid API key' } })];
        }

        if (!url.searchParams.get('model_id') || !/^pcm_\d+$/.test(url.searchParams.get('output_format') ?? '')) {
            return [400, JSON.stringify({ detail: { status: 'invalid_request', message: 'Unsupported model or output format' } })];
        }

        return null;
    }

    protected receive(peer: Peer, message: Record<string, any>) {

        const context = message.context_id;
        if (message.close_context === true) {
            const open = peer.texts.delete(context);
            if (open && !peer.ended.has(context) && peer.flushed.has(context)) {
                this.post(peer, context, [{ isFinal: true, contextId: context }]);
            }

            peer.ended.add(context);
            return;
        }

        if (peer.ended.has(context)) {
            return;
        }

        if (!peer.texts.has(context)) {
            if (peer.texts.size >= maxContexts) {
                this.post(peer, '', [{ message: `Maximum simultaneous contexts per WebSocket connection exceeded (${maxContexts}).`, error: 'max_active_conversations', code: 1008 }]);
                peer.socket.close(1008, 'max_active_conversations');
                return;
            }

            peer.texts.set(context, '');
        }

        const text = peer.texts.get(context)! + (message.text ?? '');
        if (message.flush === true) {
            peer.flushed.add(context);
        }

        if (message.flush === true || text.trim().length >= this.schedule) {
            peer.texts.set(context, '');
            if (text.trim()) {
                this.speak(peer, context, text.trim(), Number(peer.url.searchParams.get('output_format')!.slice(4)));
            }
        }
        else {
            peer.texts.set(context, text);
        }
    }

    protected chunk(context: string, audio: string) {

        return { audio, isFinal: null, normalizedAlignment: null, alignment: null, contextId: context };
    }

    protected failure(context: string, text: string) {

        return { message: text, error: 'generation_failed', code: 1011, contextId: context };
    }
}


export const startElevenLabs = async (apiKey = 'test-elevenlabs-key') => {

    const fake = new FakeElevenLabs(apiKey);
    await fake.start('');
    return fake;
};
