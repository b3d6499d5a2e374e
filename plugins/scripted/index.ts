import type { TalkyPlugin } from '../../core/plugin';
import { scriptedLlm } from './llm';


// Provides the llm slot offline: LLM_PROVIDER=scripted walks the campaign's script

export const plugin: TalkyPlugin = {
    name: 'scripted',
    dependencies: ['core'],
    register(server) {

        server.plugins.core.providers.register('llm', 'scripted', () => scriptedLlm());
    }
};
