import type { TalkyPlugin } from '../../core/plugin';
import { elevenlabsTts } from './tts';


// Provides the tts slot: TTS_PROVIDER=elevenlabs speaks every call's turns over one socket per
// voice to ELEVENLABS_URL, closed when the server stops

export const plugin: TalkyPlugin = {
    name: 'elevenlabs',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;
        let made: ReturnType<typeof elevenlabsTts> | null = null;

        providers.register('tts', 'elevenlabs', () => (made = elevenlabsTts({
            url: config.elevenlabsUrl,
            apiKey: config.elevenlabsApiKey!,
            model: config.elevenlabsModel,
            voiceId: config.elevenlabsVoiceId
        })));

        server.ext('onPostStop', () => made?.close());
    }
};
