import type { TalkyPlugin } from '../../core/plugin';
import { deepgramStt } from './stt';


// Provides the stt slot: STT_PROVIDER=deepgram transcribes each call live at DEEPGRAM_URL

export const plugin: TalkyPlugin = {
    name: 'deepgram',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;

        providers.register('stt', 'deepgram', () => deepgramStt({ url: config.deepgramUrl, apiKey: config.deepgramApiKey!, model: config.deepgramModel }));
    }
};
