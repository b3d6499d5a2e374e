import Fs from 'fs';

import type { TalkyPlugin } from '../../core/plugin';
import { routes } from './routes';
import { VonageTelephony } from './telephony';
import { publicUrlOf } from './urls';


// VONAGE_PRIVATE_KEY holds the PEM itself or the path of a file holding it

export const readPrivateKey = (value: string) => (value.includes('-----BEGIN') ? value : Fs.readFileSync(value, 'utf8'));


// The Vonage telephony provider and the webhooks Vonage calls. The webhooks hand their facts to
// the dialer, looked up per request, so this plugin loads where the dialer is disabled.

export const plugin: TalkyPlugin = {
    name: 'vonage',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;

        providers.register('telephony', 'vonage', () => new VonageTelephony({
            applicationId: config.vonageApplicationId!,
            privateKey: readPrivateKey(config.vonagePrivateKey!),
            apiHost: config.vonageApiHost,
            publicUrl: publicUrlOf(server),
            fromNumber: config.vonageFromNumber
        }));

        server.route(routes(server));
    }
};
