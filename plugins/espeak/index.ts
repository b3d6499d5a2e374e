import type { TalkyPlugin } from '../../core/plugin';
import { espeakTts } from './tts';


// Provides the tts slot offline: TTS_PROVIDER=espeak speaks with Debian's espeak-ng

export const plugin: TalkyPlugin = {
    name: 'espeak',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;

        providers.register('tts', 'espeak', () => espeakTts({ voice: config.espeakVoice, wordsPerMinute: config.espeakWordsPerMinute }));
    }
};
