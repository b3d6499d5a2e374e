import type { TalkyPlugin } from '../../core/plugin';
import { cartesiaTts } from './tts';


// Provides the tts slot: TTS_PROVIDER=cartesia speaks every call's turns over one socket to
// CARTESIA_URL, closed when the server stops

export const plugin: TalkyPlugin = {
    name: 'cartesia',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;
        let made: ReturnType<typeof cartesiaTts> | null = null;

        providers.register('tts', 'cartesia', () => (made = cartesiaTts({
            url: config.cartesiaUrl,
            apiKey: config.cartesiaApiKey!,
            model: config.cartesiaModel,
            version: config.cartesiaVersion,
            voiceId: config.cartesiaVoiceId
        })));

        server.ext('onPostStop', () => made?.close());
    }
};
