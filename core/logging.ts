import type { Plugin } from '@hapi/hapi';
import HapiPino from 'hapi-pino';
import Pino, { type DestinationStream, type Logger } from 'pino';

import type { Config } from '../config';


// Credentials never reach the log: headers that carry them and any field named like a secret

export const redactPaths = [
    'req.headers.authorization',
    'req.headers.cookie',
    'req.headers["x-api-key"]',
    'res.headers["set-cookie"]',
    ...['token', 'access_token', 'api_key', 'password', 'secret', 'jwtSecret', 'privateKey', 'private_key'].flatMap((name) => [name, `*.${name}`])
];


export const createLogger = (config: Config, stream?: DestinationStream): Logger => {

    const options = { level: config.logLevel, redact: { paths: redactPaths, censor: '[redacted]' } };
    return stream ? Pino(options, stream) : Pino(options);
};


export const loggingPlugin = (instance: Logger): { plugin: Plugin<HapiPino.Options>; options: HapiPino.Options } => ({
    plugin: HapiPino,
    options: {
        instance,
        ignorePaths: ['/api/v1/health'],
        logRequestStart: false,
        logRequestComplete: true,
        logQueryParams: false
    }
});
