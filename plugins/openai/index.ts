import type { TalkyPlugin } from '../../core/plugin';
import { openaiLlm } from './llm';


// Provides the llm slot: LLM_PROVIDER=openai talks to OPENAI_BASE_URL, any OpenAI-compatible endpoint

export const plugin: TalkyPlugin = {
    name: 'openai',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;

        providers.register('llm', 'openai', () => openaiLlm({ baseUrl: config.openaiBaseUrl, apiKey: config.openaiApiKey, model: config.llmModel }));
    }
};
