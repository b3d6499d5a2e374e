import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { load } from '../config';
import { Providers } from '../core/providers';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;


describe('providers', () => {

    it('makes the chosen implementation once, on first use', () => {

        // Implementations here are plain objects: the registry does not look inside them

        const providers = new Providers(load({ LLM_PROVIDER: 'openai', OPENAI_API_KEY: 'sk-test' }));
        let made = 0;
        providers.register('llm', 'offline', () => ({ kind: 'offline' }) as never);
        providers.register('llm', 'openai', () => ({ kind: 'openai', made: ++made }) as never);
        providers.require('llm');
        providers.check();

        expect(providers.available('llm')).to.equal(['offline', 'openai']);
        expect(providers.get('llm') as unknown).to.equal({ kind: 'openai', made: 1 });
        expect(providers.get('llm') as unknown).to.equal({ kind: 'openai', made: 1 });
        expect(made).to.equal(1);
    });

    it('names the setting and the choices when the chosen one is missing', () => {

        const providers = new Providers(load({ STORAGE_BACKEND: 'ftp' }));
        providers.register('storage', 'local', () => ({}) as never);
        expect(() => providers.get('storage')).to.throw('STORAGE_BACKEND is \'ftp\' but no plugin provides it (available: local)');

        providers.require('storage');
        providers.require('stt');
        expect(() => providers.check()).to.throw(/STORAGE_BACKEND is 'ftp'.*; STT_PROVIDER is 'pocketsphinx' but no plugin provides it \(available: none\)/);
    });

    it('refuses two implementations of one name', () => {

        const providers = new Providers(load({}));
        providers.register('tts', 'cartesia', () => ({}) as never);
        expect(() => providers.register('tts', 'cartesia', () => ({}) as never)).to.throw('Provider cartesia is already registered in the tts slot');
    });
});
