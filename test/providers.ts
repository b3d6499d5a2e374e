import Code from '@hapi/code';
import Lab from '@hapi/lab';

import { load } from '../config';
import { Providers } from '../core/providers';


const { describe, it } = exports.lab = Lab.script();
const { expect } = Code;


describe('providers', () => {

    it('makes the chosen implementation once, on first use', () => {

        const providers = new Providers(load({ TELEPHONY_PROVIDER: 'vonage' }));
        let made = 0;
        providers.register('telephony', 'simulator', () => ({ kind: 'simulator' }));
        providers.register('telephony', 'vonage', () => ({ kind: 'vonage', made: ++made }));
        providers.require('telephony');
        providers.check();

        expect(providers.available('telephony')).to.equal(['simulator', 'vonage']);
        expect(providers.get('telephony')).to.equal({ kind: 'vonage', made: 1 });
        expect(providers.get('telephony')).to.equal({ kind: 'vonage', made: 1 });
        expect(made).to.equal(1);
    });

    it('names the setting and the choices when the chosen one is missing', () => {

        const providers = new Providers(load({ STORAGE_BACKEND: 's3' }));
        providers.register('storage', 'local', () => ({}));
        expect(() => providers.get('storage')).to.throw('STORAGE_BACKEND is \'s3\' but no plugin provides it (available: local)');

        providers.require('storage');
        providers.require('stt');
        expect(() => providers.check()).to.throw(/STORAGE_BACKEND is 's3'.*; STT_PROVIDER is 'offline' but no plugin provides it \(available: none\)/);
    });

    it('refuses two implementations of one name', () => {

        const providers = new Providers(load({}));
        providers.register('tts', 'cartesia', () => ({}));
        expect(() => providers.register('tts', 'cartesia', () => ({}))).to.throw('Provider cartesia is already registered in the tts slot');
    });
});
