import type { TalkyPlugin } from '../../core/plugin';
import { pocketsphinxStt } from './stt';


// Provides the stt slot offline: STT_PROVIDER=pocketsphinx listens with Debian's pocketsphinx

export const plugin: TalkyPlugin = {
    name: 'pocketsphinx',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;

        providers.register('stt', 'pocketsphinx', () => pocketsphinxStt({ command: config.pocketsphinxCommand }));
    }
};
