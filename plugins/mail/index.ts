import Path from 'path';

import type { TalkyPlugin } from '../../core/plugin';
import { fileMailer, smtpMailer, type Mailer } from './transports';


// Provides the mailer slot: MAIL_TRANSPORT=file (the local default) or smtp

export const plugin: TalkyPlugin = {
    name: 'mail',
    dependencies: ['core'],
    register(server) {

        const { config, providers } = server.plugins.core;
        let made: Mailer | null = null;

        providers.register('mailer', 'file', () => (made = fileMailer(Path.resolve(config.mailDir), config.mailFrom)));
        providers.register('mailer', 'smtp', () => (made = smtpMailer(config.smtpUrl, config.mailFrom)));

        server.ext('onPostStop', () => made?.close());
    }
};
